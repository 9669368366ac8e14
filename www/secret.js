// secret: a value shown exactly once (a tunnel signing key, an API key,
// an enrollment command), with a Copy button and the warning. The value
// lives only in this box: closing the dialog removes it from the page.
import { h, toast } from './dom.js';

let seq = 0;
export function secretBox(label, value, { warn = true, multiline = false } = {}) {
	const id = `secret-${++seq}`;
	const field = multiline ?
	    h('textarea', { id, class: 'secret', readOnly: true, rows: 3, value, spellcheck: false }) :
	    h('input', { id, class: 'secret', type: 'text', readOnly: true, value, spellcheck: false });
	const copy = async () => {
		field.select();
		try { await navigator.clipboard.writeText(value); toast(`${label} copied.`); }
		catch { toast('Select the text and copy it (Ctrl+C).'); }
	};
	return h('div', { class: 'secret-box' },
	    h('label', { for: id, text: label }),
	    h('div', { class: 'row' }, field,
	        h('button', { type: 'button', 'aria-label': `Copy ${label}`, on: { click: copy } }, 'Copy')),
	    warn ? h('p', { class: 'warn', role: 'note', text: 'It is shown only this once: copy it before you close this dialog.' }) : null);
}
