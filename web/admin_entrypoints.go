package web

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// qrPrintSizes are the PNG sizes offered for download: 512 px prints
// sharply to about 4 cm, 1024 px (qrMaxSize) to posters.
var qrPrintSizes = []int{512, qrMaxSize}

// handleEntryList lists the entry points with their funnel.
func (s *Server) handleEntryList(w http.ResponseWriter, r *http.Request) {
	all, err := s.svc.EntryPoints(r.Context())
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	names, err := s.categoryNames(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	m := views.EntryListModel{Layout: s.catalogLayout(r, "Entry points", "entry_points")}
	for _, e := range all {
		m.Rows = append(m.Rows, views.EntryRowModel{Code: e.Code, Name: e.Name, Categories: names.join(e.Categories),
			Scans: e.Scans, Conversations: e.Conversations, Accepted: e.Accepted})
	}
	render(w, r, http.StatusOK, views.EntryListPage(m))
}

// handleEntryNew shows the empty form.
func (s *Server) handleEntryNew(w http.ResponseWriter, r *http.Request) {
	f, err := s.entryForm(r, consent.EntryPoint{})
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	render(w, r, http.StatusOK, views.EntryNewPage(views.EntryNewModel{
		Layout: s.catalogLayout(r, "New entry point", "entry_points"), Form: f}))
}

// handleEntryCreate stores a new entry point and opens its kit.
func (s *Server) handleEntryCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseCatalogForm(w, r) {
		return
	}
	f := r.PostForm
	e, err := s.svc.CreateEntryPoint(r.Context(), f.Get("code"), f.Get("name"), f["category"])
	if errors.Is(err, consent.ErrConflict) {
		err = &consent.ValidationError{Fields: map[string]string{"code": "entry.code.taken"}}
	}
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		form, ferr := s.entryForm(r, consent.EntryPoint{Code: truncate(f.Get("code"), 20), Name: truncate(f.Get("name"), 200),
			Categories: f["category"]})
		if ferr != nil {
			s.failAdmin(w, r, ferr)
			return
		}
		form.Errors = catalogErrors(verr)
		render(w, r, http.StatusUnprocessableEntity, views.EntryNewPage(views.EntryNewModel{
			Layout: s.catalogLayout(r, "New entry point", "entry_points"), Form: form}))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "entry_point_create", "entry_point:"+e.Code, map[string]any{"code": e.Code, "name": e.Name,
		"categories": e.Categories})
	http.Redirect(w, r, "/admin/entry-points/"+e.Code+"?done=created", http.StatusSeeOther)
}

// handleEntryShow is an entry point's page: its channel kit and funnel.
func (s *Server) handleEntryShow(w http.ResponseWriter, r *http.Request) {
	e, err := s.svc.EntryPoint(r.Context(), r.PathValue("code"))
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	m, err := s.entryKit(r, e)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if m.Regret, m.RegretThreshold, err = s.entryRegret(r.Context(), e); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	render(w, r, http.StatusOK, views.EntryKitPage(m))
}

// handleEntryUpdate changes an entry point's name and categories.
func (s *Server) handleEntryUpdate(w http.ResponseWriter, r *http.Request) {
	before, err := s.svc.EntryPoint(r.Context(), r.PathValue("code"))
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if !s.parseCatalogForm(w, r) {
		return
	}
	f := r.PostForm
	e, err := s.svc.UpdateEntryPoint(r.Context(), before.Code, f.Get("name"), f["category"])
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		m, kerr := s.entryKit(r, before)
		if kerr != nil {
			s.failAdmin(w, r, kerr)
			return
		}
		m.Form, kerr = s.entryForm(r, consent.EntryPoint{Code: before.Code, Name: truncate(f.Get("name"), 200), Categories: f["category"]})
		if kerr != nil {
			s.failAdmin(w, r, kerr)
			return
		}
		m.Form.Errors = catalogErrors(verr)
		render(w, r, http.StatusUnprocessableEntity, views.EntryKitPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "entry_point_update", "entry_point:"+e.Code, map[string]any{"code": e.Code,
		"before": map[string]any{"name": before.Name, "categories": before.Categories},
		"after":  map[string]any{"name": e.Name, "categories": e.Categories}})
	http.Redirect(w, r, "/admin/entry-points/"+e.Code+"?done=saved", http.StatusSeeOther)
}

// entryKit builds an entry point's page.
func (s *Server) entryKit(r *http.Request, e consent.EntryPoint) (views.EntryKitModel, error) {
	names, err := s.categoryNames(r)
	if err != nil {
		return views.EntryKitModel{}, err
	}
	form, err := s.entryForm(r, e)
	if err != nil {
		return views.EntryKitModel{}, err
	}
	k := s.channelKit(e.Code)
	m := views.EntryKitModel{
		Layout: s.catalogLayout(r, e.Name+" ("+e.Code+")", "entry_points"),
		Code:   e.Code, Name: e.Name, Categories: names.join(e.Categories),
		StartText: k.StartText, WaMeLink: k.WaMeLink, ShortLink: k.ShortLink, QRSVG: k.QRSVG,
		EmailHTML: k.EmailHTML, IframeHTML: k.IframeHTML, FrameOrigins: s.cfg.FrameOrigins,
		Scans: e.Scans, Conversations: e.Conversations, Accepted: e.Accepted, Form: form,
	}
	for _, q := range k.QRPNGs {
		m.QRPNGs = append(m.QRPNGs, views.QRDownload{Label: q.Label, URL: q.URL, Filename: q.Filename})
	}
	return m, nil
}

// channelKit is what a business needs to bring people to an entry point.
type channelKit struct {
	StartText  string // the signed text the wa.me link prefills
	WaMeLink   string
	ShortLink  string // what the QR codes hold: BASE/l/CODE, counted
	QRSVG      string // path of the SVG image
	QRPNGs     []qrDownload
	EmailHTML  string // an inline-styled button for e-mail
	IframeHTML string // the opt-in form with the code as its source
}

type qrDownload struct{ Label, URL, Filename string }

// channelKit builds the kit of the entry point code.
func (s *Server) channelKit(code string) channelKit {
	k := channelKit{
		StartText: s.svc.StartText(code),
		WaMeLink:  s.svc.WaMeLink(code),
		ShortLink: s.shortLink(code),
		QRSVG:     "/qr/" + code + ".svg",
	}
	for _, size := range qrPrintSizes {
		n := strconv.Itoa(size)
		k.QRPNGs = append(k.QRPNGs, qrDownload{Label: "PNG " + n + " px", URL: "/qr/" + code + ".png?size=" + n,
			Filename: "qr-" + code + "-" + n + ".png"})
	}
	k.EmailHTML = kitSnippet(emailButton, map[string]string{"Link": k.ShortLink, "Business": s.cfg.BusinessName})
	k.IframeHTML = kitSnippet(formIframe, map[string]string{
		"Src": strings.TrimRight(s.cfg.BaseURL, "/") + "/optin?embed=1&src=" + code, "Business": s.cfg.BusinessName})
	return k
}

// emailButton is a bulletproof e-mail button: a table cell with the colour
// for clients that ignore the link's padding (Outlook), every style inline
// since e-mail clients drop style sheets. The teal is WhatsApp's dark one,
// 7.6:1 with white. It is written as XHTML so that any client parses it.
var emailButton = template.Must(template.New("email").Parse(
	`<table role="presentation" border="0" cellpadding="0" cellspacing="0" style="border-collapse:separate;margin:16px 0;">` +
		`<tr><td align="center" bgcolor="#075E54" style="border-radius:6px;background-color:#075E54;">` +
		`<a href="{{.Link}}" target="_blank" rel="noopener" title="Chat with {{.Business}} on WhatsApp" ` +
		`style="display:inline-block;padding:12px 24px;font-family:Helvetica,Arial,sans-serif;font-size:16px;` +
		`font-weight:bold;line-height:20px;color:#ffffff;text-decoration:none;border-radius:6px;">` +
		`Chat with us on WhatsApp</a></td></tr></table>`))

// formIframe embeds the opt-in form.
var formIframe = template.Must(template.New("iframe").Parse(
	`<iframe src="{{.Src}}" title="Get news from {{.Business}} on WhatsApp" width="100%" height="720" ` +
		`style="border:0;max-width:36rem;" loading="lazy"></iframe>`))

// kitSnippet renders a snippet template; html/template escapes the
// business name and the links for their places.
func kitSnippet(t *template.Template, data map[string]string) string {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		// The templates are fixed and the data are strings: this can't
		// happen, and an empty snippet is better than a broken one.
		return ""
	}
	return b.String()
}

// entryForm is the form for e with every category to choose from.
func (s *Server) entryForm(r *http.Request, e consent.EntryPoint) (views.EntryFormModel, error) {
	cats, err := s.svc.Categories(r.Context(), "en")
	if err != nil {
		return views.EntryFormModel{}, err
	}
	chosen := map[string]bool{}
	for _, c := range e.Categories {
		chosen[c] = true
	}
	f := views.EntryFormModel{Code: e.Code, Name: e.Name}
	for _, c := range cats {
		f.Categories = append(f.Categories, views.EntryCategoryOption{Slug: c.Slug, Name: c.Name, Checked: chosen[c.Slug]})
	}
	return f, nil
}

// slugNames maps category slugs to their English names.
type slugNames map[string]string

func (n slugNames) join(slugs []string) string {
	out := make([]string, 0, len(slugs))
	for _, s := range slugs {
		if name, ok := n[s]; ok {
			out = append(out, name)
		} else {
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

func (s *Server) categoryNames(r *http.Request) (slugNames, error) {
	cats, err := s.svc.Categories(r.Context(), "en")
	if err != nil {
		return nil, err
	}
	out := slugNames{}
	for _, c := range cats {
		out[c.Slug] = c.Name
	}
	return out, nil
}
