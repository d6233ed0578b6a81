/**
 * The built-in page template and stylesheet. An operator replaces the template with
 * PAGES_TEMPLATE_FILE (same placeholders) and adds CSS with PAGES_STYLE_FILE, without editing this file.
 * Placeholders: {{site_name}}, {{title}}, {{style}} (the stylesheet, for a <style> element) and
 * {{content}} (the page's own part). Everything is inline: no framework, no external asset.
 */
export const DEFAULT_TEMPLATE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{title}} · {{site_name}}</title>
<style>{{style}}</style>
</head>
<body>
<main class="card">
<p class="site">{{site_name}}</p>
{{content}}
</main>
</body>
</html>
`;

/** Custom properties first, so PAGES_STYLE_FILE can restyle the pages by overriding a few of them. */
export const DEFAULT_STYLE = `
:root {
  --accent: #2f5bd3; --accent-text: #fff; --text: #1d2330; --muted: #5b6475;
  --background: #eef1f6; --card: #fff; --border: #d5dae3; --error: #a4161a; --error-background: #fdecec;
  --radius: 10px; --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
* { box-sizing: border-box; }
html { background: var(--background); }
body { margin: 0; min-height: 100vh; display: flex; align-items: flex-start; justify-content: center;
  padding: 12vh 1rem 2rem; font: 16px/1.5 var(--font); color: var(--text); }
.card { width: 100%; max-width: 24rem; background: var(--card); border: 1px solid var(--border);
  border-radius: var(--radius); padding: 2rem; box-shadow: 0 8px 24px rgba(20, 30, 60, .08); }
.site { margin: 0 0 .25rem; color: var(--muted); font-size: .875rem; font-weight: 600; letter-spacing: .02em; }
h1 { margin: 0 0 1.25rem; font-size: 1.5rem; line-height: 1.25; }
p { margin: 0 0 1rem; }
label { display: block; margin: 0 0 .25rem; font-weight: 600; font-size: .9375rem; }
input { display: block; width: 100%; margin: 0 0 1rem; padding: .6rem .7rem; font: inherit; color: inherit;
  border: 1px solid var(--border); border-radius: calc(var(--radius) / 2); background: #fff; }
input:focus { outline: 2px solid var(--accent); outline-offset: 1px; border-color: var(--accent); }
button { display: block; width: 100%; padding: .65rem; font: inherit; font-weight: 600; cursor: pointer;
  color: var(--accent-text); background: var(--accent); border: 0; border-radius: calc(var(--radius) / 2); }
button:hover { filter: brightness(1.08); }
button.secondary { color: var(--accent); background: transparent; border: 1px solid var(--border); }
form { margin: 0 0 .75rem; }
.message { padding: .6rem .8rem; color: var(--error); background: var(--error-background);
  border-radius: calc(var(--radius) / 2); }
.muted { color: var(--muted); font-size: .9375rem; }
a { color: var(--accent); }
a.button { display: block; text-align: center; padding: .65rem; font-weight: 600; text-decoration: none;
  color: var(--accent-text); background: var(--accent); border-radius: calc(var(--radius) / 2); }
`;
