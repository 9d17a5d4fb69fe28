package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"github.com/optin/optin/consent"
)

// QR code sizes in pixels: smaller than 128 cannot be printed sharply
// enough to scan, larger than 1024 only costs CPU.
const (
	qrDefaultSize = 512
	qrMinSize     = 128
	qrMaxSize     = 1024
)

// handleLinkRedirect sends a person who followed an entry point's short link
// or scanned its QR code on to WhatsApp, counting the scan.
func (s *Server) handleLinkRedirect(w http.ResponseWriter, r *http.Request) {
	code := strings.ToUpper(r.PathValue("code"))
	var link string
	var err error
	if r.Method == http.MethodHead {
		// Link checkers and previews send HEAD: answer them without
		// counting a scan nobody made.
		if _, err = s.svc.EntryPoint(r.Context(), code); err == nil {
			link = s.svc.WaMeLink(code)
		}
	} else {
		via := consent.SourceLink
		if r.URL.Query().Get("via") == "qr" {
			via = consent.SourceQR
		}
		link, err = s.svc.Scan(r.Context(), code, via)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.Sandbox != nil {
		// The sandbox's business number is not on WhatsApp: the link opens
		// the sandbox phone, ready to write in through this entry point.
		link = "/sandbox?code=" + url.QueryEscape(code)
	}
	// Every visit must reach optin to be counted.
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, link, http.StatusFound)
}

// handleQR serves an entry point's QR code as /qr/{code}.png or
// /qr/{code}.svg. ServeMux wildcards are whole path segments, so the
// extension is split off here.
func (s *Server) handleQR(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	dot := strings.LastIndexByte(file, '.')
	if dot < 0 {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	code, ext := strings.ToUpper(file[:dot]), file[dot+1:]
	if ext != "png" && ext != "svg" {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	size := qrDefaultSize
	if v := r.URL.Query().Get("size"); v != "" && ext == "png" {
		n, err := strconv.Atoi(v)
		if err != nil || n < qrMinSize || n > qrMaxSize {
			http.Error(w, fmt.Sprintf("size must be a whole number of pixels from %d to %d", qrMinSize, qrMaxSize),
				http.StatusBadRequest)
			return
		}
		size = n
	}
	e, err := s.svc.EntryPoint(r.Context(), code)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The code holds the short link, not the wa.me link: scans then pass
	// through /l/{code} and are counted, and the start text (with its
	// signature) can change without reprinting anything.
	q, err := qrcode.New(s.qrLink(e.Code), qrcode.Medium)
	if err != nil {
		s.fail(w, r, fmt.Errorf("web: qr code for %s: %w", e.Code, err))
		return
	}
	var body []byte
	if ext == "png" {
		if body, err = q.PNG(size); err != nil {
			s.fail(w, r, fmt.Errorf("web: qr png for %s: %w", e.Code, err))
			return
		}
		w.Header().Set("Content-Type", "image/png")
	} else {
		body = qrSVG(q.Bitmap())
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	// The image depends only on the code and the base URL, which change
	// rarely; an hour keeps print shops' repeated downloads cheap.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="qr-%s.%s"`, e.Code, ext))
	w.Write(body)
}

// shortLink is the counted link of an entry point.
func (s *Server) shortLink(code string) string { return s.cfg.BaseURL + "/l/" + code }

// qrLink is the short link a QR code holds: the same, marked, so that the
// opt-in records that the person scanned a code (source qr).
func (s *Server) qrLink(code string) string { return s.shortLink(code) + "?via=qr" }

// qrSVG draws a QR code bitmap (quiet zone included) as an SVG of one path
// of unit squares on white, which scales to any print size without blur.
func qrSVG(bitmap [][]bool) []byte {
	n := len(bitmap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	// An explicit white background keeps the quiet zone light on any page.
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="`)
	for y, row := range bitmap {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}
