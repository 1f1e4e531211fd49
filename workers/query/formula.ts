/**
 * Formulas over a row's metrics: numbers, metric names, + − × ÷ and parentheses, with the usual
 * precedence. A name is letters, digits, '_', ':' and '.' starting with a letter or '_' (so
 * `sum:amount` works); anything else goes in backquotes (`sum:my-prop`). A missing value or a
 * division by zero makes the result null: a rate with no denominator is not 0.
 */
export type Expr =
	| { num: number }
	| { ref: string }
	| { neg: Expr }
	| { op: "+" | "-" | "*" | "/"; a: Expr; b: Expr };

type Token = { t: "num"; v: number } | { t: "ref"; v: string } | { t: "op"; v: string };

const MAX_TOKENS = 200;

function tokenize(src: string): Token[] | string {
	const out: Token[] = [];
	let i = 0;
	while (i < src.length) {
		const c = src[i]!;
		if (c === " " || c === "\t" || c === "\n") {
			i++;
			continue;
		}
		if ("+-*/()×÷−".includes(c)) {
			out.push({ t: "op", v: c === "×" ? "*" : c === "÷" ? "/" : c === "−" ? "-" : c });
			i++;
		} else if (/[0-9.]/.test(c)) {
			const m = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(src.slice(i));
			if (!m) return `a number is malformed at position ${i + 1}`;
			out.push({ t: "num", v: Number(m[0]) });
			i += m[0].length;
		} else if (c === "`") {
			const end = src.indexOf("`", i + 1);
			if (end < 0) return `a backquoted name is not closed (position ${i + 1})`;
			out.push({ t: "ref", v: src.slice(i + 1, end) });
			i = end + 1;
		} else if (/[A-Za-z_]/.test(c)) {
			const m = /^[A-Za-z_][A-Za-z0-9_:.]*/.exec(src.slice(i))!;
			out.push({ t: "ref", v: m[0] });
			i += m[0].length;
		} else return `unexpected '${c}' at position ${i + 1}: use metric names, numbers, + - * / and parentheses`;
		if (out.length > MAX_TOKENS) return `at most ${MAX_TOKENS} terms`;
	}
	return out;
}

/** Parses a formula; the names it reads are returned so the query can check them. */
export function parseFormula(src: string): { ok: true; expr: Expr; refs: string[] } | { ok: false; message: string } {
	const tokens = tokenize(src);
	if (typeof tokens === "string") return { ok: false, message: tokens };
	let at = 0;
	const refs = new Set<string>();
	const peek = () => tokens[at];
	const fail = (why: string): never => {
		throw new SyntaxError(why);
	};
	// expr := term (('+'|'-') term)*; term := unary (('*'|'/') unary)*; unary := '-' unary | atom
	const expr = (depth: number): Expr => {
		if (depth > 50) fail("nested too deeply");
		let left = term(depth);
		for (let p = peek(); p?.t === "op" && (p.v === "+" || p.v === "-"); p = peek()) {
			at++;
			left = { op: p.v, a: left, b: term(depth) };
		}
		return left;
	};
	const term = (depth: number): Expr => {
		let left = unary(depth);
		for (let p = peek(); p?.t === "op" && (p.v === "*" || p.v === "/"); p = peek()) {
			at++;
			left = { op: p.v, a: left, b: unary(depth) };
		}
		return left;
	};
	const unary = (depth: number): Expr => {
		const p = peek();
		if (p?.t === "op" && p.v === "-") {
			at++;
			return { neg: unary(depth + 1) };
		}
		return atom(depth);
	};
	const atom = (depth: number): Expr => {
		const p = tokens[at++];
		if (!p) return fail("the formula ends too early");
		if (p.t === "num") return { num: p.v };
		if (p.t === "ref") {
			refs.add(p.v);
			return { ref: p.v };
		}
		if (p.v === "(") {
			const inner = expr(depth + 1);
			const close = tokens[at++];
			if (close?.t !== "op" || close.v !== ")") fail("a '(' is not closed");
			return inner;
		}
		return fail(`unexpected '${p.v}'`);
	};
	try {
		const e = expr(0);
		if (at < tokens.length) {
			const extra = tokens[at]!;
			return { ok: false, message: `unexpected '${extra.t === "num" ? extra.v : extra.v}' after a complete formula` };
		}
		return { ok: true, expr: e, refs: [...refs] };
	} catch (err) {
		return { ok: false, message: (err as Error).message };
	}
}

/** Evaluates a formula; null when a value it reads is null, or on a division by zero. */
export function evaluate(e: Expr, value: (name: string) => number | null): number | null {
	if ("num" in e) return e.num;
	if ("ref" in e) return value(e.ref);
	if ("neg" in e) {
		const v = evaluate(e.neg, value);
		return v == null ? null : -v;
	}
	const a = evaluate(e.a, value);
	const b = evaluate(e.b, value);
	if (a == null || b == null) return null;
	if (e.op === "+") return a + b;
	if (e.op === "-") return a - b;
	if (e.op === "*") return a * b;
	if (b === 0) return null;
	const r = a / b;
	return Number.isFinite(r) ? r : null;
}
