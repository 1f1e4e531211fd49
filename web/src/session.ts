// The signed-in key, kept in the browser's local storage (never in a URL).
const STORAGE = "edgewise.key";

export function storedKey(): string | null {
	try {
		return localStorage.getItem(STORAGE);
	} catch {
		return null;
	}
}

export function storeKey(key: string | null) {
	try {
		if (key) localStorage.setItem(STORAGE, key);
		else localStorage.removeItem(STORAGE);
	} catch {
		// Storage refused (private mode): the key lasts until the tab closes.
	}
}

/**
 * The development read key, prefilled on the sign-in page only when the dashboard was built by
 * `npm start` (EDGEWISE_DEV_READ_KEY) and is opened on this machine.
 */
export function devKey(): string {
	const local = ["localhost", "127.0.0.1", "[::1]"].includes(location.hostname);
	return local ? __DEV_READ_KEY__ : "";
}
