/**
 * Rectangle: the first persistent object of the tour (README, DESIGN.md section 1).
 *
 *   clouds> load objects/examples/rectangle.ts
 *   clouds> new Rectangle RectA
 *   clouds> RectA.size(5, 10)
 *   clouds> RectA.area()
 *   50
 */
import { CloudsObject, entry } from "clouds-ts";

export class Rectangle extends CloudsObject {
  x = 0;
  y = 0;

  @entry size(x: number, y: number): void {
    this.x = x;
    this.y = y;
  }

  @entry area(): number {
    return this.x * this.y;
  }
}
