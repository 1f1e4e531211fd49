// Benchmark baseline (c): the cheapest possible Worker, to measure what the local runtime and
// the load generator can do per request on this machine.
export default {
	fetch() {
		return new Response("hello");
	},
};
