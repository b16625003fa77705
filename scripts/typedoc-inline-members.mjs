// TypeDoc plugin (typedoc.json "plugin"): a member of an anonymous object type — `budget: { epsilon: number; delta: number }`,
// or a zod-inferred RunConfig expanded where it is used — has no declaration of its own that a doc comment could sit on
// without rewriting the type. Such a member is described by the comment of what owns the type (its property, type alias or
// signature): it inherits that comment's first sentence as a pointer, so validation.notDocumented checks every named
// declaration and never demands the impossible. A member of a type literal whose owner is undocumented stays undocumented
// (and fails validation with its owner).
import { Comment, Converter, ReflectionKind } from 'typedoc';

/** The declaration or signature whose type the literal is: the first ancestor that is not a type literal. */
function ownerOf(literal) {
  let r = literal.parent;
  while (r && r.kindOf(ReflectionKind.TypeLiteral)) r = r.parent;
  return r;
}

export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_END, (context) => {
    for (const r of Object.values(context.project.reflections)) {
      if (!r.kindOf(ReflectionKind.Property) || r.hasComment() || !r.parent?.kindOf(ReflectionKind.TypeLiteral)) continue;
      const owner = ownerOf(r.parent);
      const documented = owner && (owner.hasComment() || (owner.kindOf(ReflectionKind.SomeSignature) && owner.parent?.hasComment()));
      if (!documented) continue;
      r.comment = new Comment([{ kind: 'text', text: `See ${owner.getFriendlyFullName()}.` }]);
    }
  });
}
