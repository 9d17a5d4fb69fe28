package web

import (
	"bytes"
	"context"
	"encoding/xml"
	"html"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
	"github.com/skip2/go-qrcode"
)

// snippetElement parses snippet strictly as XML (well-formed, every
// attribute quoted, every & escaped) and returns the attributes and text of
// its first element named name.
func snippetElement(t *testing.T, snippet, name string) (map[string]string, string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(snippet))
	d.Strict = true
	var attrs map[string]string
	var text strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("snippet is not well-formed: %v\n%s", err, snippet)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if attrs == nil && tok.Name.Local == name {
				attrs = map[string]string{}
				for _, a := range tok.Attr {
					attrs[a.Name.Local] = a.Value
				}
				depth = 1
			} else if depth > 0 {
				depth++
			}
		case xml.EndElement:
			if depth > 0 {
				depth--
			}
		case xml.CharData:
			if depth > 0 {
				text.Write(tok)
			}
		}
	}
	if attrs == nil {
		t.Fatalf("no <%s> in %s", name, snippet)
	}
	return attrs, text.String()
}

func TestAdminEntryCreateOpensTheKit(t *testing.T) {
	e := newEnv(t, func(c *Config, cc *consent.Config) {
		cc.BusinessNumber = "+49 30 1234567"
		cc.EntryKey = []byte("kit-key")
		c.FrameOrigins = []string{"https://shop.example"}
	})
	c := e.signIn(consent.RoleAdmin)
	resp := c.post("/admin/entry-points", url.Values{"code": {"spring"}, "name": {"Spring posters"},
		"category": {"offers", "order_updates"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/entry-points/SPRING?done=created" {
		t.Fatalf("create: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, action, target, detail := e.lastAudit(); action != "entry_point_create" || target != "entry_point:SPRING" ||
		!strings.Contains(detail, "Spring posters") {
		t.Errorf("audit = %s %s %s", action, target, detail)
	}
	resp, body := c.get("/admin/entry-points/SPRING")
	if resp.StatusCode != 200 {
		t.Fatalf("kit: status %d", resp.StatusCode)
	}
	k := e.srv.channelKit("SPRING")

	// The links: the signed wa.me link and the counted short link.
	if k.WaMeLink != e.svc.WaMeLink("SPRING") || !strings.HasPrefix(k.WaMeLink, "https://wa.me/49301234567?text=START%20SPRING-") {
		t.Errorf("wa.me link = %q", k.WaMeLink)
	}
	if code, valid := e.svc.ParseStartCode(strings.TrimPrefix(k.StartText, "START ")); code != "SPRING" || valid != consent.SourceLink {
		t.Errorf("start text %q does not carry a valid signature", k.StartText)
	}
	if k.ShortLink != "http://optin.test/l/SPRING" {
		t.Errorf("short link = %q", k.ShortLink)
	}
	for _, want := range []string{`value="` + html.EscapeString(k.WaMeLink) + `"`, `value="http://optin.test/l/SPRING"`,
		html.EscapeString(k.StartText), `src="/qr/SPRING.svg"`, `src="/static/js/admin-kit.js"`} {
		if !strings.Contains(body, want) {
			t.Errorf("kit page lacks %s", want)
		}
	}
	// The short link sends people on to the wa.me link.
	redirect, _ := e.get("/l/SPRING")
	if redirect.StatusCode != http.StatusFound || redirect.Header.Get("Location") != k.WaMeLink {
		t.Errorf("/l/SPRING: status %d, Location %q", redirect.StatusCode, redirect.Header.Get("Location"))
	}

	// QR codes: every download is offered with a download attribute and
	// serves an image of its size that encodes the short link.
	for _, d := range k.QRPNGs {
		if !strings.Contains(body, `href="`+html.EscapeString(d.URL)+`" download="`+d.Filename+`"`) {
			t.Errorf("no download link for %s", d.Label)
		}
		resp, img := c.get(d.URL)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("%s: status %d, type %q", d.URL, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		cfg, err := png.DecodeConfig(strings.NewReader(img))
		if err != nil || "PNG "+itoa64(int64(cfg.Width))+" px" != d.Label || cfg.Width != cfg.Height {
			t.Errorf("%s: %dx%d (%v), want %s", d.URL, cfg.Width, cfg.Height, err, d.Label)
		}
	}
	if len(k.QRPNGs) != 2 || k.QRPNGs[0].Filename != "qr-SPRING-512.png" || k.QRPNGs[1].Filename != "qr-SPRING-1024.png" {
		t.Errorf("PNG downloads = %+v, want 512 and 1024 px", k.QRPNGs)
	}
	if !strings.Contains(body, `href="/qr/SPRING.svg" download="qr-SPRING.svg"`) {
		t.Error("no SVG download")
	}
	resp, svg := c.get(k.QRSVG)
	want, _ := qrcode.New(k.ShortLink+"?via=qr", qrcode.Medium)
	if resp.StatusCode != 200 || !bytes.Equal([]byte(svg), qrSVG(want.Bitmap())) {
		t.Errorf("the SVG QR code does not encode the short link %s?via=qr", k.ShortLink)
	}

	// The e-mail button: well-formed, inline-styled, linking to the short link.
	a, text := snippetElement(t, k.EmailHTML, "a")
	if a["href"] != k.ShortLink || strings.TrimSpace(text) != "Chat with us on WhatsApp" ||
		!strings.Contains(a["style"], "color:#ffffff") || !strings.Contains(a["style"], "padding:12px 24px") {
		t.Errorf("e-mail link = %v %q", a, text)
	}
	if td, _ := snippetElement(t, k.EmailHTML, "td"); !strings.Contains(td["style"], "background-color:#075E54") {
		t.Errorf("e-mail button cell = %v, want an inline background", td)
	}
	if !strings.Contains(body, `data-testid="kit-email-html">`+html.EscapeString(k.EmailHTML)+`</textarea>`) ||
		!strings.Contains(body, `data-copy="#kit-email"`) || !strings.Contains(body, `readonly`) {
		t.Error("the e-mail HTML is not in a readonly textarea with a copy button")
	}

	// The iframe: the embeddable form with the code as its source.
	f, _ := snippetElement(t, k.IframeHTML, "iframe")
	if f["src"] != "http://optin.test/optin?embed=1&src=SPRING" || f["title"] == "" {
		t.Errorf("iframe = %v", f)
	}
	src, _ := url.Parse(f["src"])
	resp, form := e.get(src.RequestURI())
	if resp.StatusCode != 200 || !strings.Contains(form, `name="src" value="SPRING"`) ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors https://shop.example") {
		t.Errorf("the iframe's page: status %d, want the embeddable form with src SPRING", resp.StatusCode)
	}
	if strings.Contains(body, `data-testid="kit-frame-blocked"`) {
		t.Error("the kit says framing is blocked although an origin is configured")
	}
}

func TestAdminEntryKitEscapesTheBusinessName(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.BusinessName = `Tom & Jerry's "<Shop>"` })
	k := e.srv.channelKit(consent.DefaultEntryPoint)
	for _, snippet := range []string{k.EmailHTML, k.IframeHTML} {
		if strings.Contains(snippet, "<Shop>") || strings.Contains(snippet, `"<`) {
			t.Errorf("business name not escaped in %s", snippet)
		}
	}
	a, _ := snippetElement(t, k.EmailHTML, "a")
	if a["title"] != `Chat with Tom & Jerry's "<Shop>" on WhatsApp` {
		t.Errorf("title = %q", a["title"])
	}
	f, _ := snippetElement(t, k.IframeHTML, "iframe")
	if !strings.Contains(f["title"], `Tom & Jerry's "<Shop>"`) {
		t.Errorf("iframe title = %q", f["title"])
	}
	c := e.signIn(consent.RoleViewer)
	_, body := c.get("/admin/entry-points/HELLO")
	if !strings.Contains(body, `data-testid="kit-frame-blocked"`) {
		t.Error("no notice that framing is blocked without OPTIN_FRAME_ORIGINS")
	}
	if strings.Contains(body, `data-testid="entry-save"`) {
		t.Error("viewer sees Save")
	}
}

func TestAdminEntryCounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, what := range []string{consent.EntryScans, consent.EntryScans, consent.EntryScans, consent.EntryScans,
		consent.EntryConversations, consent.EntryConversations, consent.EntryAccepted} {
		if err := e.db.CountEntry(ctx, consent.DefaultEntryPoint, what); err != nil {
			t.Fatal(err)
		}
	}
	c := e.signIn(consent.RoleViewer)
	_, body := c.get("/admin/entry-points/HELLO")
	for _, want := range []string{`data-testid="count-scans">4<`, `data-testid="count-conversations">2<`,
		`data-testid="count-accepted">1<`, "50 % of scans", "50 % of conversations"} {
		if !strings.Contains(body, want) {
			t.Errorf("kit page lacks %s", want)
		}
	}
	_, body = c.get("/admin/entry-points")
	if !strings.Contains(body, `data-testid="entry-HELLO"`) || !strings.Contains(body, `<td class="num">4</td>`) {
		t.Error("the list lacks HELLO with its scans")
	}
}

func TestAdminEntryEdit(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	resp := c.post("/admin/entry-points/HELLO", url.Values{"name": {"Walk-ins"}, "category": {"offers"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/entry-points/HELLO?done=saved" {
		t.Fatalf("update: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	got, _ := e.svc.EntryPoint(context.Background(), "HELLO")
	if got.Name != "Walk-ins" || len(got.Categories) != 1 || got.Categories[0] != "offers" {
		t.Errorf("after update = %+v", got)
	}
	if _, action, _, detail := e.lastAudit(); action != "entry_point_update" || !strings.Contains(detail, `"before"`) ||
		!strings.Contains(detail, "Default") || !strings.Contains(detail, "Walk-ins") {
		t.Errorf("audit = %s %s", action, detail)
	}
	if resp := c.post("/admin/entry-points/NOPE", url.Values{"name": {"x"}, "category": {"offers"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown code: status %d, want 404", resp.StatusCode)
	}
}

func TestAdminEntryInvalidChangesNothing(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		marker     string
	}{
		{"code with a zero", "/admin/entry-points", url.Values{"code": {"SPRING0"}, "name": {"x"}, "category": {"offers"}}, "error-code"},
		{"code too short", "/admin/entry-points", url.Values{"code": {"AB"}, "name": {"x"}, "category": {"offers"}}, "error-code"},
		{"code taken", "/admin/entry-points", url.Values{"code": {"hello"}, "name": {"x"}, "category": {"offers"}}, "error-code"},
		{"no name", "/admin/entry-points", url.Values{"code": {"SPRING"}, "name": {" "}, "category": {"offers"}}, "error-name"},
		{"no category", "/admin/entry-points", url.Values{"code": {"SPRING"}, "name": {"x"}}, "error-categories"},
		{"unknown category", "/admin/entry-points", url.Values{"code": {"SPRING"}, "name": {"x"}, "category": {"nope"}}, "error-categories"},
		{"edit: no name", "/admin/entry-points/HELLO", url.Values{"name": {""}, "category": {"offers"}}, "error-name"},
		{"edit: no category", "/admin/entry-points/HELLO", url.Values{"name": {"Walk-ins"}}, "error-categories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.catalogRows()
			req, _ := http.NewRequest("POST", e.ts.URL+tc.path, strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(resp)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="`+tc.marker+`"`) {
				t.Errorf("status = %d (want 422), marker %s present: %v", resp.StatusCode, tc.marker,
					strings.Contains(body, tc.marker))
			}
			if !equalCounts(before, e.catalogRows()) {
				t.Error("a refused change changed something")
			}
		})
	}
}
