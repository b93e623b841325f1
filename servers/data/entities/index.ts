/** The entities of the data server's store, as TypeORM's DataSource wants them. */
export { SegmentEntity } from "./segment-entity.js";
export { PageEntity } from "./page-entity.js";
export { ObjectEntity } from "./object-entity.js";
export { ClassEntity } from "./class-entity.js";
export { StoreStateEntity } from "./store-state-entity.js";
export { AtomicDecisionEntity } from "./atomic-decision-entity.js";
export { AtomicPreparedEntity } from "./atomic-prepared-entity.js";
