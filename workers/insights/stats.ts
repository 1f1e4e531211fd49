/**
 * Distributions and tests the insights need, written out (no statistics library fits a Worker this
 * small): the normal, Student's t and chi-square distributions through the regularized incomplete
 * gamma and beta functions (Numerical Recipes' series and continued fractions), accurate to ~1e-10.
 */

/** ln Γ(x), Lanczos approximation (g = 7, n = 9), x > 0. */
export function lnGamma(x: number): number {
	const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
	if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
	x -= 1;
	let a = c[0]!;
	const t = x + 7.5;
	for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
	return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

const EPS = 1e-14;
const FPMIN = 1e-300;

/** Regularized lower incomplete gamma P(a, x). */
export function gammaP(a: number, x: number): number {
	if (x <= 0) return 0;
	if (x < a + 1) {
		// Series.
		let sum = 1 / a;
		let del = sum;
		for (let n = 1; n < 1000; n++) {
			del *= x / (a + n);
			sum += del;
			if (Math.abs(del) < Math.abs(sum) * EPS) break;
		}
		return sum * Math.exp(-x + a * Math.log(x) - lnGamma(a));
	}
	return 1 - gammaQcf(a, x);
}

/** Q(a, x) = 1 − P(a, x) by Lentz's continued fraction, for x ≥ a + 1. */
function gammaQcf(a: number, x: number): number {
	let b = x + 1 - a;
	let c = 1 / FPMIN;
	let d = 1 / b;
	let h = d;
	for (let i = 1; i < 1000; i++) {
		const an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (Math.abs(d) < FPMIN) d = FPMIN;
		c = b + an / c;
		if (Math.abs(c) < FPMIN) c = FPMIN;
		d = 1 / d;
		const del = d * c;
		h *= del;
		if (Math.abs(del - 1) < EPS) break;
	}
	return Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h;
}

/** Regularized incomplete beta I_x(a, b). */
export function betaI(x: number, a: number, b: number): number {
	if (x <= 0) return 0;
	if (x >= 1) return 1;
	const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
	// The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
	if (x < (a + 1) / (a + b + 2)) return (front * betaCf(x, a, b)) / a;
	return 1 - (front * betaCf(1 - x, b, a)) / b;
}

function betaCf(x: number, a: number, b: number): number {
	const qab = a + b;
	const qap = a + 1;
	const qam = a - 1;
	let c = 1;
	let d = 1 - (qab * x) / qap;
	if (Math.abs(d) < FPMIN) d = FPMIN;
	d = 1 / d;
	let h = d;
	for (let m = 1; m < 1000; m++) {
		const m2 = 2 * m;
		let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
		d = 1 + aa * d;
		if (Math.abs(d) < FPMIN) d = FPMIN;
		c = 1 + aa / c;
		if (Math.abs(c) < FPMIN) c = FPMIN;
		d = 1 / d;
		h *= d * c;
		aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		if (Math.abs(d) < FPMIN) d = FPMIN;
		c = 1 + aa / c;
		if (Math.abs(c) < FPMIN) c = FPMIN;
		d = 1 / d;
		const del = d * c;
		h *= del;
		if (Math.abs(del - 1) < EPS) break;
	}
	return h;
}

/** Standard normal CDF Φ(z). */
export function normalCdf(z: number): number {
	// Φ(z) = P(1/2, z²/2) / 2 + 1/2 for z ≥ 0.
	const p = 0.5 * gammaP(0.5, (z * z) / 2);
	return z >= 0 ? 0.5 + p : 0.5 - p;
}

/** Standard normal quantile Φ⁻¹(p): Acklam's rational approximation, refined by one Halley step. */
export function normalQuantile(p: number): number {
	if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : Number.NaN;
	const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
	const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
	const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
	const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
	const lo = 0.02425;
	let x: number;
	if (p < lo) {
		const q = Math.sqrt(-2 * Math.log(p));
		x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
	} else if (p <= 1 - lo) {
		const q = p - 0.5;
		const r = q * q;
		x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
	} else {
		const q = Math.sqrt(-2 * Math.log(1 - p));
		x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
	}
	const e = normalCdf(x) - p;
	const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
	return x - u / (1 + (x * u) / 2);
}

/** Student's t CDF with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
	if (!Number.isFinite(df) || df > 1e7) return normalCdf(t);
	const x = df / (df + t * t);
	const tail = 0.5 * betaI(x, df / 2, 0.5);
	return t >= 0 ? 1 - tail : tail;
}

/** Two-sided p-value of a t statistic. */
export const tPValue = (t: number, df: number) => Math.min(1, 2 * (1 - tCdf(Math.abs(t), df)));

/** Student's t quantile, by bisection on the CDF (the t distribution is monotone). */
export function tQuantile(p: number, df: number): number {
	if (!Number.isFinite(df) || df > 1e7) return normalQuantile(p);
	if (p === 0.5) return 0;
	let lo = -1e4;
	let hi = 1e4;
	for (let i = 0; i < 200; i++) {
		const mid = (lo + hi) / 2;
		if (tCdf(mid, df) < p) lo = mid;
		else hi = mid;
		if (hi - lo < 1e-12) break;
	}
	return (lo + hi) / 2;
}

/** Chi-square upper tail P(X ≥ x) with `df` degrees of freedom. */
export const chiSquareSurvival = (x: number, df: number) => (x <= 0 ? 1 : 1 - gammaP(df / 2, x / 2));

export function mean(xs: readonly number[]): number {
	let s = 0;
	for (const x of xs) s += x;
	return xs.length ? s / xs.length : Number.NaN;
}

/** Sample variance (n − 1). */
export function variance(xs: readonly number[]): number {
	if (xs.length < 2) return Number.NaN;
	const m = mean(xs);
	let s = 0;
	for (const x of xs) s += (x - m) ** 2;
	return s / (xs.length - 1);
}

export function median(xs: readonly number[]): number {
	if (!xs.length) return Number.NaN;
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median absolute deviation, scaled by 1.4826 to estimate a normal distribution's σ. */
export function mad(xs: readonly number[]): number {
	const m = median(xs);
	return 1.4826 * median(xs.map((x) => Math.abs(x - m)));
}

/** Ranks (1-based), ties get the mean of their ranks (for Spearman). */
export function ranks(xs: readonly number[]): number[] {
	const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
	const out = new Array<number>(xs.length);
	for (let i = 0; i < order.length; ) {
		let j = i;
		while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
		const r = (i + j) / 2 + 1;
		for (let k = i; k <= j; k++) out[order[k]![1]] = r;
		i = j + 1;
	}
	return out;
}
