package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
	"github.com/optin/optin/web/i18n"
)

// maxFormBytes bounds an opt-in form post: a phone number and a few
// category slugs fit many times over.
const maxFormBytes = 16 << 10

// formVersion identifies the form's layout in the evidence; change it when
// the form changes in a way a lawyer would care about.
const formVersion = "mt-form/1"

// handleOptInForm shows the opt-in form.
func (s *Server) handleOptInForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lang := i18n.Match(q.Get("lang"), r.Header.Get("Accept-Language"))
	embed := q.Get("embed") == "1"
	m, err := s.optInModel(r, lang, embed)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m.Phone = q.Get("phone")
	if c := strings.ToUpper(q.Get("country")); consent.KnownRegion(c) {
		m.Country = c
		m.Countries = s.countries.options(lang, c)
	}
	if embed {
		s.allowFraming(w)
	}
	render(w, r, http.StatusOK, views.OptInPage(m))
}

// optInModel builds the empty form for lang.
func (s *Server) optInModel(r *http.Request, lang string, embed bool) (views.OptInModel, error) {
	cats, err := s.svc.Categories(r.Context(), lang)
	if err != nil {
		return views.OptInModel{}, err
	}
	wording, err := s.svc.FormWording(r.Context(), lang)
	if err != nil {
		return views.OptInModel{}, err
	}
	m := views.OptInModel{
		Layout:      s.layout(r, lang, i18n.T(lang, "optin.title", s.cfg.BusinessName), embed),
		Action:      "/optin",
		Country:     regionOr(acceptRegion(r.Header.Get("Accept-Language")), s.cfg.DefaultRegion),
		Src:         r.URL.Query().Get("src"),
		Wording:     wording.Text,
		WordingHash: wording.Hash,
		TermsURL:    "/terms?lang=" + lang,
	}
	if embed {
		m.Action = "/optin?embed=1"
		if o := s.embedOrigin(r); o != "" {
			m.Action += "&origin=" + url.QueryEscape(o)
		}
	}
	m.Countries = s.countries.options(lang, m.Country)
	for _, c := range cats {
		m.Categories = append(m.Categories, views.CategoryOption{Slug: c.Slug, Name: c.Name, Description: c.Description})
	}
	return m, nil
}

// handleOptInSubmit records an opt-in from the form.
func (s *Server) handleOptInSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.renderError(w, r, http.StatusRequestEntityTooLarge)
			return
		}
		s.renderError(w, r, http.StatusBadRequest)
		return
	}
	f := r.PostForm
	lang := i18n.Match(f.Get("lang"), r.Header.Get("Accept-Language"))
	embed := r.URL.Query().Get("embed") == "1"
	if embed {
		s.allowFraming(w)
	}
	now := s.cfg.Clock.Now()
	ip := clientIP(r)
	region := strings.ToUpper(strings.TrimSpace(f.Get("country")))
	if !s.limits.allow("ip:"+ip, now) {
		s.renderError(w, r, http.StatusTooManyRequests)
		return
	}
	if phone, err := consent.ParsePhone(f.Get("phone"), regionOr(region, s.cfg.DefaultRegion)); err == nil &&
		!s.limits.allow("phone:"+phone, now) {
		s.renderError(w, r, http.StatusTooManyRequests)
		return
	}

	// The consent text above the submit button is recorded as evidence:
	// the version the form showed (admins edit it in /admin/wording).
	wording, err := s.svc.ShownFormWording(r.Context(), lang, f.Get("wording"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	source := consent.SourceWebForm
	origin := ""
	if embed {
		source = consent.SourceEmbed
		origin = s.embedOrigin(r)
	}
	req := consent.OptInRequest{
		Phone:      f.Get("phone"),
		Region:     region,
		Categories: f["category"],
		Lang:       lang,
		Wording:    wording.Text,
		Evidence: consent.Evidence{
			Source:      source,
			IP:          ip,
			UserAgent:   truncate(r.UserAgent(), 512),
			PageURL:     truncate(r.Referer(), 1024),
			EmbedOrigin: origin,
			EntryPoint:  truncate(f.Get("src"), 64),
			FormVersion: formVersion,
		},
	}
	out, err := s.svc.OptIn(r.Context(), req)
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		s.renderOptInErrors(w, r, lang, embed, verr)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := thanks{Lang: lang, Embed: embed, Double: s.svc.Mode() == consent.Double,
		NothingNew: len(out.Changed) == 0, Phone: out.Contact.Phone, Categories: req.Categories}
	http.Redirect(w, r, "/optin/thanks?t="+url.QueryEscape(s.signThanks(t)), http.StatusSeeOther)
}

// renderOptInErrors shows the form again with what the person typed and a
// message per field, in their language.
func (s *Server) renderOptInErrors(w http.ResponseWriter, r *http.Request, lang string, embed bool, verr *consent.ValidationError) {
	m, err := s.optInModel(r, lang, embed)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := r.PostForm
	m.Phone = truncate(f.Get("phone"), 64)
	m.Src = truncate(f.Get("src"), 64)
	if c := strings.ToUpper(f.Get("country")); consent.KnownRegion(c) {
		m.Country = c
		m.Countries = s.countries.options(lang, c)
	}
	chosen := map[string]bool{}
	for _, c := range f["category"] {
		chosen[c] = true
	}
	for i := range m.Categories {
		m.Categories[i].Checked = chosen[m.Categories[i].Slug]
	}
	m.Errors = map[string]string{}
	for field, key := range verr.Fields {
		m.Errors[field] = i18n.T(lang, key)
	}
	if key := verr.Fields["phone"]; strings.HasPrefix(key, "phone.too_") || strings.HasPrefix(key, "phone.invalid") {
		region := regionOr(strings.ToUpper(f.Get("country")), s.cfg.DefaultRegion)
		if msg := otherCountry(lang, region, f.Get("phone"), r.Header.Get("Accept-Language"), s.cfg.DefaultRegion); msg != "" {
			m.Errors["phone"] = msg
		}
	}
	render(w, r, http.StatusUnprocessableEntity, views.OptInPage(m))
}

// handleOptInThanks shows what happens next after an opt-in.
func (s *Server) handleOptInThanks(w http.ResponseWriter, r *http.Request) {
	t, ok := s.openThanks(r.URL.Query().Get("t"))
	if !ok {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	if t.Embed {
		s.allowFraming(w)
	}
	cats, err := s.svc.Categories(r.Context(), t.Lang)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	chosen := map[string]bool{}
	for _, c := range t.Categories {
		chosen[c] = true
	}
	m := views.ThankYouModel{
		Layout:     s.layout(r, t.Lang, i18n.T(t.Lang, "thanks.title"), t.Embed),
		Double:     t.Double,
		NothingNew: t.NothingNew,
		Phone:      t.Phone,
	}
	for _, c := range cats {
		if chosen[c.Slug] {
			m.Categories = append(m.Categories, c.Name)
		}
	}
	render(w, r, http.StatusOK, views.ThankYouPage(m))
}

// acceptRegion is the region of the first language in an Accept-Language
// header that names one ("de-DE" → DE, "en-GB" → GB), or "".
func acceptRegion(header string) string {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return ""
	}
	for _, t := range tags {
		if r, conf := t.Region(); conf == language.Exact && consent.KnownRegion(r.String()) {
			return r.String()
		}
	}
	return ""
}

// otherCountry explains a number refused for region that is valid in another
// country: "not valid for the country chosen (United States), but it is for
// Germany". Many countries share national formats, so it names the likeliest:
// the regions of the browser's languages (said or implied: "de" → Germany),
// the default region, the page language's; else up to three, when that is
// all there are. It returns "" when it can't say.
func otherCountry(lang, region, raw, acceptLanguage, defaultRegion string) string {
	others := consent.PhoneRegions(truncate(raw, 64))
	if len(others) == 0 || slices.Contains(others, region) {
		return ""
	}
	names := display.Regions(language.Make(lang))
	name := func(code string) string {
		if r, err := language.ParseRegion(code); err == nil && names.Name(r) != "" {
			return names.Name(r)
		}
		return code
	}
	likely := append(acceptRegions(acceptLanguage), defaultRegion)
	if r, _ := language.Make(lang).Region(); r.String() != "ZZ" {
		likely = append(likely, r.String())
	}
	for _, code := range likely {
		if slices.Contains(others, code) {
			return i18n.T(lang, "phone.other_country", name(region), name(code))
		}
	}
	if len(others) > 3 {
		return ""
	}
	in := make([]string, len(others))
	for i, code := range others {
		in[i] = name(code)
	}
	return i18n.T(lang, "phone.other_country", name(region), strings.Join(in, ", "))
}

// acceptRegions are the regions an Accept-Language header names or implies,
// in its order: "de-AT, en" → AT, US (the likeliest region of English).
func acceptRegions(header string) []string {
	tags, _, _ := language.ParseAcceptLanguage(header)
	var out []string
	for _, t := range tags {
		if r, conf := t.Region(); conf != language.No && consent.KnownRegion(r.String()) {
			out = append(out, r.String())
		}
	}
	return out
}

func regionOr(region, def string) string {
	if region == "" {
		return def
	}
	return region
}

// embedOrigin is the origin of the page that embeds the form. The browser
// names that page in the Referer of the frame's GET only: the POST from
// inside the frame names the frame itself. So the form's action carries the
// origin on (?origin=), and a Referer on optin's own host is not an embedder.
func (s *Server) embedOrigin(r *http.Request) string {
	if o := originOf(r.URL.Query().Get("origin")); o != "" {
		return o
	}
	o := originOf(r.Referer())
	if u, err := url.Parse(o); err != nil || u.Host == r.Host || o == originOf(s.cfg.BaseURL) {
		return ""
	}
	return o
}

// originOf is the scheme://host of an http(s) URL, "" for anything else.
func originOf(raw string) string {
	u, err := url.Parse(truncate(raw, 1024))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// maskPhone shows enough of a number for a person to recognise it:
// "+49 ••• 5678".
func maskPhone(e164 string) string {
	if len(e164) < 8 {
		return "•••"
	}
	return e164[:3] + " ••• " + e164[len(e164)-4:]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
