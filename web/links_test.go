package web

import (
	"context"
	"encoding/xml"
	"image"
	"image/png"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
	"github.com/skip2/go-qrcode"
)

// withEntry gives the service a business number and a fixed entry key.
func withEntry(_ *Config, c *consent.Config) {
	c.BusinessNumber = "+49 30 1234567"
	c.EntryKey = []byte("test-key")
}

func scans(t *testing.T, e *env, code string) int {
	t.Helper()
	ep, err := e.svc.EntryPoint(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return ep.Scans
}

func TestLinkRedirect(t *testing.T) {
	e := newEnv(t, withEntry)
	for i, path := range []string{"/l/HELLO", "/l/hello"} {
		resp, _ := e.get(path)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("GET %s: status = %d, want 302", path, resp.StatusCode)
		}
		// The signature is pinned in consent's tests; spaces must be %20.
		if got, want := resp.Header.Get("Location"), "https://wa.me/49301234567?text=START%20HELLO-A5YH"; got != want {
			t.Errorf("GET %s: Location = %q, want %q", path, got, want)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", path, got)
		}
		if got := scans(t, e, "HELLO"); got != i+1 {
			t.Errorf("after GET %s: scans = %d, want %d", path, got, i+1)
		}
	}
	// A QR code's scan leads to the same chat with the QR code's signature,
	// so that the opt-in records source qr; it counts as a scan too.
	resp, _ := e.get("/l/HELLO?via=qr")
	var err error
	if got, want := resp.Header.Get("Location"), e.svc.WaMeLinkVia("HELLO", consent.SourceQR); got != want || got == e.svc.WaMeLink("HELLO") {
		t.Errorf("GET /l/HELLO?via=qr: Location = %q, want %q (not the link's)", got, want)
	}
	if got := scans(t, e, "HELLO"); got != 3 {
		t.Errorf("after the QR scan: scans = %d, want 3", got)
	}
	req, _ := http.NewRequest(http.MethodHead, e.ts.URL+"/l/HELLO", nil)
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || scans(t, e, "HELLO") != 3 {
		t.Errorf("HEAD: status = %d, scans = %d; want 302 and no new scan", resp.StatusCode, scans(t, e, "HELLO"))
	}
}

func TestLinkUnknown(t *testing.T) {
	e := newEnv(t, withEntry)
	for _, path := range []string{"/l/NOPE", "/l/x", "/l/%C3%84BC", "/qr/NOPE.png", "/qr/NOPE.svg", "/qr/HELLO.gif", "/qr/HELLO"} {
		resp, body := e.get(path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status = %d, want 404", path, resp.StatusCode)
		}
		if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "</html>") {
			t.Errorf("GET %s: want the HTML 404 page, got %q", path, resp.Header.Get("Content-Type"))
		}
	}
}

func TestQRPNG(t *testing.T) {
	e := newEnv(t, withEntry)
	for _, tc := range []struct {
		query string
		size  int
	}{{"", 512}, {"?size=128", 128}, {"?size=300", 300}, {"?size=1024", 1024}} {
		t.Run("size"+tc.query, func(t *testing.T) {
			resp, body := e.get("/qr/hello.png" + tc.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != "image/png" {
				t.Errorf("Content-Type = %q, want image/png", got)
			}
			if got := resp.Header.Get("Cache-Control"); got != "public, max-age=3600" {
				t.Errorf("Cache-Control = %q, want public, max-age=3600", got)
			}
			img, err := png.Decode(strings.NewReader(body))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tc.size || b.Dy() != tc.size {
				t.Errorf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.size, tc.size)
			}
			checkModules(t, img, "http://optin.test/l/HELLO?via=qr")
		})
	}
	if got := scans(t, e, "HELLO"); got != 0 {
		t.Errorf("scans = %d after fetching images, want 0: only following the link is a scan", got)
	}
}

// checkModules is the round trip: no QR decoder is in the module graph, so
// it samples the centre of every module of img and compares it with the
// symbol that encodes want.
func checkModules(t *testing.T, img image.Image, want string) {
	t.Helper()
	q, err := qrcode.New(want, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := q.Bitmap()
	n, size := len(bm), img.Bounds().Dx()
	for y := range n {
		for x := range n {
			px, py := (2*x+1)*size/(2*n), (2*y+1)*size/(2*n)
			r, _, _, _ := img.At(px, py).RGBA()
			if dark := r < 0x8000; dark != bm[y][x] {
				t.Fatalf("module (%d,%d) dark = %v, want %v: the image does not encode %q", x, y, dark, bm[y][x], want)
			}
		}
	}
}

func TestQRSVG(t *testing.T) {
	e := newEnv(t, withEntry)
	resp, body := e.get("/qr/HELLO.svg")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "image/svg+xml" {
		t.Errorf("Content-Type = %q, want image/svg+xml", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=3600" {
		t.Errorf("Cache-Control = %q, want public, max-age=3600", got)
	}
	var svg struct {
		XMLName xml.Name `xml:"http://www.w3.org/2000/svg svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Shape   string   `xml:"shape-rendering,attr"`
		Paths   []struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal([]byte(body), &svg); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	q, err := qrcode.New("http://optin.test/l/HELLO?via=qr", qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := q.Bitmap()
	n := len(bm)
	if want := "0 0 " + strconv.Itoa(n) + " " + strconv.Itoa(n); svg.ViewBox != want {
		t.Errorf("viewBox = %q, want %q", svg.ViewBox, want)
	}
	// Version v has 17+4v modules a side, plus a quiet zone of 4 each side.
	if (n-8-17)%4 != 0 || n-8 < 21 {
		t.Errorf("%d modules a side is no QR code with a quiet zone", n)
	}
	if svg.Shape != "crispEdges" {
		t.Errorf("shape-rendering = %q, want crispEdges", svg.Shape)
	}
	if len(svg.Paths) != 1 {
		t.Fatalf("%d paths, want 1", len(svg.Paths))
	}
	got := map[[2]int]bool{}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`).FindAllStringSubmatch(svg.Paths[0].D, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		got[[2]int{x, y}] = true
	}
	dark := 0
	for y, row := range bm {
		for x, d := range row {
			if d {
				dark++
			}
			if d != got[[2]int{x, y}] {
				t.Fatalf("module (%d,%d) dark = %v in the SVG, want %v", x, y, got[[2]int{x, y}], d)
			}
			if d && (x < 4 || y < 4 || x >= n-4 || y >= n-4) {
				t.Fatalf("module (%d,%d) in the quiet zone is dark", x, y)
			}
		}
	}
	if len(got) != dark {
		t.Errorf("%d squares, want %d dark modules", len(got), dark)
	}
}

func TestQRBadSize(t *testing.T) {
	e := newEnv(t, withEntry)
	for _, size := range []string{"127", "1025", "0", "-512", "big", "512.5", "1e3"} {
		resp, body := e.get("/qr/HELLO.png?size=" + size)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("size=%s: status = %d, want 400", size, resp.StatusCode)
		}
		if !strings.Contains(body, "128 to 1024") {
			t.Errorf("size=%s: body = %q, want it to name the allowed sizes", size, body)
		}
	}
}
