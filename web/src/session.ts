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
		else {
			localStorage.removeItem(STORAGE);
			localStorage.removeItem(TENANT);
		}
	} catch {
		// Storage refused (private mode): the key lasts until the tab closes.
	}
}

const TENANT = "edgewise.tenant";

/**
 * What GET /v1/tenant last said for this key (name, time zone, rolled-up properties): a page load
 * starts the overview's batch with it at once, while the key is checked again beside it.
 */
export function storedTenant<T extends { key: { prefix: string } }>(key: string): T | null {
	try {
		const info = JSON.parse(localStorage.getItem(TENANT) ?? "null") as T | null;
		return info && key.startsWith(info.key.prefix) ? info : null;
	} catch {
		return null;
	}
}

export function storeTenant(info: unknown) {
	try {
		localStorage.setItem(TENANT, JSON.stringify(info));
	} catch {
		// not kept: the next page load asks first
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
