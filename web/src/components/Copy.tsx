import { useState } from "preact/hooks";

/** A button that copies `text`, and says so. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
	const [done, setDone] = useState(false);
	const copy = async () => {
		try {
			await navigator.clipboard.writeText(text);
			setDone(true);
			setTimeout(() => setDone(false), 1500);
		} catch {
			// No clipboard permission: the text is selectable beside the button.
		}
	};
	return (
		<button type="button" onClick={copy} aria-live="polite">
			{done ? "Copied" : label}
		</button>
	);
}

/** A titled block of code with a copy button. */
export function CopyBlock({ title, text }: { title: string; text: string }) {
	return (
		<div class="copy-block">
			<div class="head">
				<h3>{title}</h3>
				<CopyButton text={text} label={`Copy ${/^[A-Z]{2}/.test(title) ? title : title.toLowerCase()}`} />
			</div>
			<pre tabIndex={0}>{text}</pre>
		</div>
	);
}
