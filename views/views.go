// Package views renders optin's public pages: the opt-in form, the thank-you
// page, the terms and the error pages. Each page is a templ component that
// takes a plain model struct filled in by the web package, with every text
// already chosen or translated through the model's T function; the
// components hold no domain logic and do no I/O. The generated *_templ.go
// files are committed. Pages load CSS and JS only from /static/ so they run
// under a "default-src 'self'" content security policy.
package views

import (
	"slices"
	"strings"
	"unicode"
)

// T translates a message key into the page's language, formatting args as
// fmt.Sprintf does. The web package builds it from its catalog.
type T func(key string, args ...any) string

// LangOption is one entry of the language switcher.
type LangOption struct {
	Code    string // "de"
	Name    string // the language's own name, "Deutsch"
	URL     string // the current page in that language
	Current bool
}

// LayoutModel is what every page shares. With Embed set the page is rendered
// for an iframe on the business's site: no header, footer or language
// switcher, and tighter spacing.
type LayoutModel struct {
	Lang         string
	Title        string
	BusinessName string
	Embed        bool
	T            T
	Languages    []LangOption
}

// CountryOption is one entry of the country chooser.
type CountryOption struct {
	Code     string // ISO 3166-1 alpha-2, "DE"
	Name     string // in the page's language, "Deutschland"
	Dial     string // "+49"
	Selected bool
}

// CategoryOption is one checkbox of the opt-in form. Checked is only ever set
// when the form is shown again with the person's own choices.
type CategoryOption struct {
	Slug        string
	Name        string
	Description string
	Checked     bool
}

// OptInModel is the opt-in form. Errors maps a field ("phone", "category",
// "country") to a message already translated for the person.
type OptInModel struct {
	Layout     LayoutModel
	Action     string // form action, "/optin"
	Phone      string
	Country    string
	Src        string
	Countries  []CountryOption
	Categories []CategoryOption
	Wording    string // the consent wording, exactly as stored as evidence
	// WordingHash identifies the version of Wording shown; the form posts
	// it back so that an admin's edit in between does not change what the
	// opt-in records as shown.
	WordingHash string
	TermsURL    string
	Errors      map[string]string
}

// ThankYouModel is the page shown after a successful opt-in.
type ThankYouModel struct {
	Layout     LayoutModel
	Double     bool     // double opt-in: the person still has to tap Confirm
	NothingNew bool     // every chosen category was already opted in
	Phone      string   // masked, "+49 ••• 5678"
	Categories []string // names of the chosen categories
}

// ErrorModel is a plain error page. Heading and Message are translated;
// BackURL, when set, is offered as a way back.
type ErrorModel struct {
	Layout  LayoutModel
	Status  int
	Heading string
	Message string
	BackURL string
}

// TermsModel is the terms and privacy page. Text is plain text whose
// paragraphs are separated by blank lines.
type TermsModel struct {
	Layout LayoutModel
	Text   string
}

// t translates with m.T. Without a translator it returns the key, so a
// forgotten T shows up as readable keys instead of a panic.
func (m LayoutModel) t(key string, args ...any) string {
	if m.T == nil {
		return key
	}
	return m.T(key, args...)
}

// pageTitle is the document title: the page's title followed by the business
// name, unless the title already names the business.
func (m LayoutModel) pageTitle() string {
	switch {
	case m.Title == "":
		return m.BusinessName
	case m.BusinessName == "" || strings.Contains(m.Title, m.BusinessName):
		return m.Title
	}
	return m.Title + " · " + m.BusinessName
}

// initial is the business name's first letter, shown as its mark in the
// header.
func (m LayoutModel) initial() string {
	for _, r := range strings.TrimSpace(m.BusinessName) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return strings.ToUpper(string(r))
		}
	}
	return ""
}

// summaryItem is one line of the error summary.
type summaryItem struct {
	Href    string // the element to jump to, "" when there is none
	Message string
}

// formFields lists the form's fields in the order the form shows them, which
// is also the order of the error summary.
var formFields = []string{"country", "phone", "category"}

// errorList returns the summary lines in form order, followed by messages
// for any other field in name order.
func (m OptInModel) errorList() []summaryItem {
	var out []summaryItem
	for _, f := range formFields {
		if msg := m.Errors[f]; msg != "" {
			out = append(out, summaryItem{Href: "#" + m.fieldID(f), Message: msg})
		}
	}
	var other []string
	for f, msg := range m.Errors {
		if msg != "" && !slices.Contains(formFields, f) {
			other = append(other, f)
		}
	}
	slices.Sort(other)
	for _, f := range other {
		out = append(out, summaryItem{Message: m.Errors[f]})
	}
	return out
}

// fieldID is the id of the control a field's error points to.
func (m OptInModel) fieldID(field string) string {
	if field == "category" {
		if len(m.Categories) == 0 {
			return "categories"
		}
		return categoryID(m.Categories[0].Slug)
	}
	return field
}

// invalid reports whether field has an error.
func (m OptInModel) invalid(field string) bool {
	return m.Errors[field] != ""
}

// describedBy lists the ids that describe field: its hint, if any, and its
// error message when it has one.
func (m OptInModel) describedBy(field string, hints ...string) string {
	ids := slices.Clone(hints)
	if m.invalid(field) {
		ids = append(ids, field+"-error")
	}
	return strings.Join(ids, " ")
}

// termsTarget opens the terms in a new tab when the form is embedded, so the
// person does not lose the half-filled form inside the iframe.
func (m OptInModel) termsTarget() string {
	if m.Layout.Embed {
		return "_blank"
	}
	return ""
}

func categoryID(slug string) string     { return "category-" + slug }
func categoryDescID(slug string) string { return "category-" + slug + "-desc" }

// label is what the country chooser shows: "Deutschland (+49)".
func (c CountryOption) label() string {
	if c.Dial == "" {
		return c.Name
	}
	return c.Name + " (" + c.Dial + ")"
}

// paragraphs splits plain text into paragraphs at blank lines (lines holding
// only white space count as blank). Single line breaks inside a paragraph are
// kept.
func paragraphs(text string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = cur[:0]
		}
	}
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, " \t\r\n")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return out
}
