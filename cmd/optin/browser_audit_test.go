package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeVersion is the axe-core release .ci/run installs from npm.
const axeVersion = "4.14.1"

var axeOnce = sync.OnceValues(func() (string, error) {
	p := os.Getenv("OPTIN_AXE_JS")
	if p == "" {
		p = filepath.Join("..", "..", ".ci", "node", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(p)
	return string(b), err
})

// axeScript returns axe-core's source, read from $OPTIN_AXE_JS or from where
// .ci/run installs it (.ci/node). Outside CI a missing axe returns "" and the
// accessibility checks are skipped (logged); in CI it fails the test.
func axeScript(t *testing.T) string {
	t.Helper()
	src, err := axeOnce()
	if err != nil || !strings.Contains(src, "axe") {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is not installed (%v): .ci/run installs axe-core@%s into .ci/node, or set OPTIN_AXE_JS", err, axeVersion)
		}
		t.Logf("axe-core not installed: accessibility checks skipped (npm install --prefix .ci/node axe-core@%s)", axeVersion)
		return ""
	}
	return src
}

// axeViolation is the part of one axe-core result a person needs to fix it.
type axeViolation struct {
	ID    string `json:"id"`
	Help  string `json:"help"`
	Nodes []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// checkAccessible runs axe-core on the page in ctx and fails the test (not
// at once: the walk goes on) for every violation, naming the page.
func checkAccessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	src := axeScript(t)
	if src == "" {
		return
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](src+"\n;0")); err != nil {
			t.Fatalf("%s: inject axe-core: %v", page, err)
		}
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe.run: %v", page, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("%s: axe result: %v", page, err)
	}
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			b, _ := json.Marshal(n.Target)
			where = append(where, string(b))
		}
		t.Errorf("%s: axe %s: %s at %s (%s)", page, v.ID, v.Help, strings.Join(where, ", "), first(v.Nodes))
	}
}

func first(nodes []struct {
	Target  []any  `json:"target"`
	Summary string `json:"failureSummary"`
}) string {
	if len(nodes) == 0 {
		return ""
	}
	return strings.ReplaceAll(nodes[0].Summary, "\n", " ")
}

// checkFits fails when the page in ctx scrolls sideways: the document is
// wider than the viewport.
func checkFits(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	var m struct{ Scroll, Inner int }
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})`))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if m.Scroll > m.Inner {
		// Name the outermost elements that stick out, to know what to fix.
		culprits, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const out = [];
			const clipped = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) { if (getComputedStyle(p).overflowX !== "visible") return true; } return false; };
			for (const el of document.querySelectorAll("body *")) {
				const r = el.getBoundingClientRect();
				if (r.right > window.innerWidth + 1 && !clipped(el)) {
					out.push(el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : "") + " " + Math.round(r.right) + "px");
				}
			}
			return out.slice(0, 5).join(", ");
		})()`))
		t.Errorf("%s: the page is %d px wide in a %d px viewport (sticking out: %s)", page, m.Scroll, m.Inner, culprits)
	}
}
