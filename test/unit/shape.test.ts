import { describe, expect, it } from "vitest";
import { checkShape, MAX_DEPTH, shallowSample } from "../../workers/ingest/shape";

const nest = (depth: number, leaf: unknown = 1) => {
	let v: unknown = leaf;
	for (let i = 1; i < depth; i++) v = { a: v };
	return v;
};

describe("checkShape", () => {
	it("passes MAX_DEPTH levels and refuses one more, with the path to the first too-deep value", () => {
		expect(checkShape(nest(MAX_DEPTH, {})).issue).toBeNull();
		const deep = checkShape(nest(MAX_DEPTH + 1, {}));
		expect(deep.issue).toMatchObject({ code: "too_deep" });
		expect(deep.issue!.path).toEqual(Array(MAX_DEPTH).fill("a"));
		const arrays = checkShape({ list: [1, [2, [3]]] }, 3);
		expect(arrays.issue!.path).toEqual(["list", 1, 1]);
	});

	it("walks any depth without recursion", () => {
		const text = `${'{"a":'.repeat(500_000)}1${"}".repeat(500_000)}`;
		expect(checkShape(JSON.parse(text)).issue?.code).toBe("too_deep");
		expect(checkShape(JSON.parse(`${"[".repeat(500_000)}${"]".repeat(500_000)}`)).issue?.code).toBe("too_deep");
	});

	it("replaces lone surrogates in values and keys at every level, keeping key order and well-formed pairs", () => {
		const value = JSON.parse('{"ok":"\\ud83d\\ude00","a\\ud800":"x","b":{"c\\udc00":["\\ud800",{"d":"\\udfff"}]},"z":1}');
		const { value: fixed, issue } = checkShape(value);
		expect(issue).toBeNull();
		expect(fixed).toEqual({ ok: "😀", "a\ufffd": "x", b: { "c\ufffd": ["\ufffd", { d: "\ufffd" }] }, z: 1 });
		expect(Object.keys(fixed as object)).toEqual(["ok", "a\ufffd", "b", "z"]);
		expect(checkShape("\ud800x").value).toBe("\ufffdx");
	});

	it("keeps __proto__ an own key, also when an object is rebuilt", () => {
		const { value } = checkShape(JSON.parse('{"__proto__":{"x":"\\ud800"},"k\\ud800":1}'));
		expect(Object.keys(value as object)).toEqual(["__proto__", "k\ufffd"]);
		expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
		expect((value as Record<string, { x: string }>).__proto__!.x).toBe("\ufffd");
	});
});

describe("shallowSample", () => {
	it("cuts deep values so they can be serialised safely", () => {
		expect(shallowSample(nest(20), 3)).toEqual({ a: { a: { a: "…" } } });
		expect(JSON.stringify(shallowSample(JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`)))).toContain("…");
	});
});
