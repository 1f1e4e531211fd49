import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiFailure, apiFor, type ApiClient } from "./api/client";
import type { TenantInfo } from "./api/types";
import { Skeleton } from "./components/States";
import { navigate, onLinkClick, useLocation } from "./router";
import { Overview } from "./screens/Overview";
import { SignIn, signInMessage } from "./screens/SignIn";
import { storedKey, storedTenant, storeKey, storeTenant } from "./session";

/** What every signed-in screen gets. */
export interface ScreenProps {
	api: ApiClient;
	/** The signed-in key (the live WebSocket sends it in its sub-protocol). */
	secret: string;
	info: TenantInfo;
	search: string;
	/** The path (a board's id is in it: /boards/<id>). */
	path: string;
	/** The API refused the key (revoked while signed in): back to the sign-in page, with why. */
	onAuthError: (e: ApiFailure) => void;
}

type Loader = () => Promise<ComponentType<ScreenProps>>;
/** Screens other than the overview load on first visit: the overview's JavaScript stays small. */
const LAZY: Record<string, Loader> = {
	"/live": () => import("./screens/Live").then((m) => m.Live),
	"/explore": () => import("./screens/Explore").then((m) => m.Explore),
	"/boards": () => import("./screens/Boards").then((m) => m.Boards),
	"/support": () => import("./screens/Support").then((m) => m.Support),
	"/settings": () => import("./screens/Settings").then((m) => m.Settings),
	"/exports": () => import("./screens/Exports").then((m) => m.Exports),
	"/alerts": () => import("./screens/Alerts").then((m) => m.Alerts),
	"/funnels": () => import("./screens/Funnels").then((m) => m.Funnels),
	"/retention": () => import("./screens/Retention").then((m) => m.Retention),
	"/experiments": () => import("./screens/Experiments").then((m) => m.Experiments),
	"/people": () => import("./screens/Person").then((m) => m.Person),
};
const loaded = new Map<string, ComponentType<ScreenProps>>();

const NAV = [
	["/", "Overview"],
	["/live", "Live"],
	["/explore", "Explore"],
	["/funnels", "Funnels"],
	["/retention", "Retention"],
	["/experiments", "Experiments"],
	["/boards", "Boards"],
	["/support", "Support"],
	["/exports", "Exports"],
	["/alerts", "Alerts"],
	["/settings", "Settings"],
] as const;

/** A board's page is its list's screen: /boards/<id> is drawn by /boards (and /alerts/<id>, the link in alert notifications, by /alerts; /people/<id> by the person page). */
const screenOf = (path: string) => (path.startsWith("/boards/") ? "/boards" : path.startsWith("/alerts/") ? "/alerts" : path.startsWith("/people/") ? "/people" : path);

function Lazy({ path, props }: { path: string; props: ScreenProps }) {
	const [C, setC] = useState<ComponentType<ScreenProps> | null>(() => loaded.get(path) ?? null);
	const [failed, setFailed] = useState(false);
	useEffect(() => {
		if (loaded.has(path)) return setC(() => loaded.get(path)!);
		setC(null);
		LAZY[path]!().then(
			(c) => {
				loaded.set(path, c);
				setC(() => c);
			},
			() => setFailed(true),
		);
	}, [path]);
	if (failed) return <p class="state error" role="alert">This page could not be loaded (a new version may have been deployed): reload the page.</p>;
	return C ? <C {...props} /> : <Skeleton height={200} />;
}

function Logo() {
	return (
		<svg viewBox="0 0 32 32" aria-hidden="true">
			<rect width="32" height="32" rx="7" fill="var(--accent)" />
			<path d="M7 22l6-8 5 5 7-10" stroke="var(--accent-fg)" stroke-width="3" fill="none" stroke-linecap="round" stroke-linejoin="round" />
		</svg>
	);
}

/** `/#/shared/<token>`: a shared board's link (the token never reaches a server in a URL). */
const sharedToken = (hash: string) => (hash.startsWith("#/shared/") ? hash.slice("#/shared/".length) : null);

/** The shared board's screen, loaded on first visit like the others. */
function SharedLazy({ token }: { token: string }) {
	const [C, setC] = useState<ComponentType<{ token: string }> | null>(null);
	const [failed, setFailed] = useState(false);
	useEffect(() => {
		import("./screens/Shared").then(
			(m) => setC(() => m.Shared),
			() => setFailed(true),
		);
	}, []);
	if (failed) return <p class="state error" role="alert">This page could not be loaded (a new version may have been deployed): reload the page.</p>;
	return C ? <C token={token} /> : <Skeleton height={200} />;
}

/**
 * The dashboard, or a shared board: a share link opens its board read-only, without a key, and
 * without the workspace around it (no sign-in, no navigation).
 */
export function App() {
	const { path, search, hash } = useLocation();
	const token = sharedToken(hash);
	return token != null ? <SharedLazy token={token} /> : <Workspace path={path} search={search} />;
}

type Session = { status: "checking" } | { status: "out"; message: string | null } | { status: "in"; key: string; info: TenantInfo };

function Workspace({ path, search }: { path: string; search: string }) {
	const [session, setSession] = useState<Session>(() => {
		const key = storedKey();
		if (!key) return { status: "out", message: null };
		// With what the tenant looked like last time, screens start their queries at once.
		const known = storedTenant<TenantInfo>(key);
		return known ? { status: "in", key, info: known } : { status: "checking" };
	});

	// A stored key is checked once per page load (it may have been revoked since), beside the
	// screen's own first request; changed tenant settings re-render the screen with them.
	useEffect(() => {
		const key = storedKey();
		if (!key) return;
		apiFor(key)
			.tenant()
			.then(
				(info) => {
					storeTenant(info);
					setSession((s) => (s.status === "in" && JSON.stringify(s.info) === JSON.stringify(info) ? s : { status: "in", key, info }));
				},
				(e: ApiFailure) => {
					// A network failure keeps a known session: the screen says what failed.
					if (e.status === 0 && session.status === "in") return;
					if (e.status === 401 || e.status === 403) storeKey(null);
					setSession({ status: "out", message: signInMessage(e) });
				},
			);
	}, []);

	const signOut = (message: string | null = null) => {
		storeKey(null);
		setSession({ status: "out", message });
	};

	if (session.status === "checking")
		return (
			<main aria-busy="true">
				<Skeleton height={40} width="40%" />
				<Skeleton height={120} />
				<Skeleton height={300} />
			</main>
		);
	if (session.status === "out")
		return (
			<SignIn
				message={session.message}
				onSignedIn={(key, info) => {
					storeKey(key);
					storeTenant(info);
					setSession({ status: "in", key, info });
				}}
			/>
		);

	const { info, key } = session;
	const props: ScreenProps = {
		api: apiFor(key),
		secret: key,
		info,
		search,
		path,
		onAuthError: (e) => signOut(signInMessage(e)),
	};
	const screen = screenOf(path);
	const known = screen === "/" || screen in LAZY;
	return (
		<>
			<a class="skip" href="#main">
				Skip to content
			</a>
			<header class="top">
				<a class="brand" href="/" onClick={onLinkClick}>
					<Logo />
					Edgewise
				</a>
				<nav class="nav" aria-label="Main">
					{NAV.map(([href, label]) => (
						<a href={href} onClick={onLinkClick} aria-current={screen === href ? "page" : undefined}>
							{label}
						</a>
					))}
				</nav>
				<div class="who">
					<span>
						<strong data-testid="tenant-name">{info.tenant.name}</strong>
						<span class="tz"> · {info.tenant.timezone}</span>
					</span>
					<button type="button" class="link" onClick={() => signOut()}>
						Sign out
					</button>
				</div>
			</header>
			<main id="main" tabIndex={-1}>
				{screen === "/" ? <Overview {...props} /> : known ? <Lazy path={screen} props={props} /> : <NotFound />}
			</main>
		</>
	);
}

function NotFound() {
	return (
		<div class="state">
			<h1>No such page</h1>
			<p>
				<a href="/" onClick={(e) => (e.preventDefault(), navigate("/"))}>
					Go to the overview
				</a>
			</p>
		</div>
	);
}
