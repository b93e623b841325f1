/** The part of `ses/tools.js` the class compiler uses (the package ships no types for it). */
declare module "ses/tools.js" {
  export const transforms: {
    /** Throws SyntaxError if SES would refuse to evaluate `source` (import expressions, direct eval, HTML comments). */
    mandatoryTransforms(source: string): string;
  };
}
