package consent

import (
	"strconv"
	"strings"
	"testing"
)

// suffix keeps button titles unique (WhatsApp refuses two equal titles)
// while the first keeps the title under test exactly.
func suffix(i int, title string) string {
	if i == 0 || title == "" {
		return ""
	}
	return strconv.Itoa(i)
}

func TestMessageValidate(t *testing.T) {
	tpl := func(mut func(*Template)) Message {
		t := &Template{Name: "optin_welcome", Language: "en", BodyParams: []string{"Acme"},
			Buttons: []TemplateButton{{Index: 0, SubType: "quick_reply", Payload: "p"}, {Index: 1, SubType: "url", Text: "tok"}}}
		if mut != nil {
			mut(t)
		}
		return Message{Kind: KindTemplate, To: "4915112345678", Template: t}
	}
	buttons := func(n int, title string) []Button {
		var b []Button
		for i := 0; i < n; i++ {
			b = append(b, Button{ID: "b" + strconv.Itoa(i), Title: title + suffix(i, title)})
		}
		return b
	}
	interactive := func(mut func(*Interactive)) Message {
		in := &Interactive{Body: "b", Buttons: []Button{{ID: "yes", Title: "Accept"}, {ID: "no", Title: "Decline"}}}
		mut(in)
		return Message{Kind: KindInteractive, To: "1", Interactive: in}
	}
	list := func(mut func(*List)) Message {
		l := &List{Button: "Choose", Sections: []ListSection{{Title: "Topics", Rows: []ListRow{
			{ID: "offers", Title: "Offers", Description: "Deals and discounts"}, {ID: "news", Title: "News"}}}}}
		mut(l)
		return Message{Kind: KindInteractive, To: "1", Interactive: &Interactive{Body: "Which topics?", List: l}}
	}
	rows := func(n int) []ListRow {
		var out []ListRow
		for i := range n {
			out = append(out, ListRow{ID: "r" + strconv.Itoa(i), Title: "Row " + strconv.Itoa(i)})
		}
		return out
	}
	tests := []struct {
		name    string
		m       Message
		wantErr string
	}{
		{"template ok", tpl(nil), ""},
		{"template without name", tpl(func(t *Template) { t.Name = "" }), "name and a language"},
		{"empty body parameter", tpl(func(t *Template) { t.BodyParams = []string{""} }), "empty template body parameter"},
		{"quick reply without payload", tpl(func(t *Template) { t.Buttons[0].Payload = "" }), "without payload"},
		{"url button without suffix", tpl(func(t *Template) { t.Buttons[1].Text = "" }), "without suffix"},
		{"unknown sub_type", tpl(func(t *Template) { t.Buttons[0].SubType = "call" }), "unknown template button"},
		{"text ok", Message{Kind: KindText, To: "1", Text: "hi"}, ""},
		{"blank text", Message{Kind: KindText, To: "1", Text: "  "}, "1 to 4096"},
		{"long text", Message{Kind: KindText, To: "1", Text: strings.Repeat("é", MaxTextRunes+1)}, "1 to 4096"},
		{"no recipient", Message{Kind: KindText, Text: "hi"}, "no recipient"},
		{"interactive ok", Message{Kind: KindInteractive, To: "1", Interactive: &Interactive{Body: "b", Buttons: buttons(3, "Minhas preferências")}}, ""},
		{"four buttons", Message{Kind: KindInteractive, To: "1", Interactive: &Interactive{Body: "b", Buttons: buttons(4, "x")}}, "1 to 3 buttons"},
		{"long title", Message{Kind: KindInteractive, To: "1", Interactive: &Interactive{Body: "b", Buttons: buttons(1, strings.Repeat("x", 21))}}, "1 to 20"},
		{"card without name", Message{Kind: KindContacts, To: "1", Contacts: []Card{{Phone: "+1"}}}, "without name"},
		{"read ok", Message{Kind: KindRead, ReadID: "wamid.1"}, ""},
		{"template name with capitals", tpl(func(t *Template) { t.Name = "Optin_Welcome" }), "lower-case"},
		{"template name 513", tpl(func(t *Template) { t.Name = strings.Repeat("a", 513) }), "1 to 512"},
		{"template language pt_BR", tpl(func(t *Template) { t.Language = "pt_BR" }), ""},
		{"template language pt-BR", tpl(func(t *Template) { t.Language = "pt-BR" }), "en or pt_BR"},
		{"body parameter 1024 runes", tpl(func(t *Template) { t.BodyParams = []string{strings.Repeat("ü", MaxTemplateParamRunes)} }), ""},
		{"body parameter 1025 runes", tpl(func(t *Template) { t.BodyParams = []string{strings.Repeat("ü", MaxTemplateParamRunes+1)} }), "longer than 1024"},
		{"body parameter with new line", tpl(func(t *Template) { t.BodyParams = []string{"a\nb"} }), "new line"},
		{"body parameter with five spaces", tpl(func(t *Template) { t.BodyParams = []string{"a     b"} }), "4 consecutive spaces"},
		{"blank body parameter", tpl(func(t *Template) { t.BodyParams = []string{"  "} }), "empty template body parameter"},
		{"payload 128", tpl(func(t *Template) { t.Buttons[0].Payload = strings.Repeat("p", MaxTemplatePayload) }), ""},
		{"payload 129", tpl(func(t *Template) { t.Buttons[0].Payload = strings.Repeat("p", MaxTemplatePayload+1) }), "longer than 128"},
		{"button index 10", tpl(func(t *Template) { t.Buttons[1].Index = 10 }), "0 to 9"},
		{"same button index", tpl(func(t *Template) { t.Buttons[1].Index = 0 }), "same index"},
		{"interactive body 1024 runes", interactive(func(in *Interactive) { in.Body = strings.Repeat("ß", MaxInteractiveBody) }), ""},
		{"interactive body 1025 runes", interactive(func(in *Interactive) { in.Body = strings.Repeat("ß", MaxInteractiveBody+1) }), "body longer than 1024"},
		{"header 60 runes", interactive(func(in *Interactive) { in.Header = strings.Repeat("ä", 60) }), ""},
		{"header 61 runes", interactive(func(in *Interactive) { in.Header = strings.Repeat("ä", 61) }), "header longer than 60"},
		{"footer 60 runes", interactive(func(in *Interactive) { in.Footer = strings.Repeat("ö", 60) }), ""},
		{"footer 61 runes", interactive(func(in *Interactive) { in.Footer = strings.Repeat("ö", 61) }), "footer longer than 60"},
		{"title 20 runes", interactive(func(in *Interactive) { in.Buttons[0].Title = strings.Repeat("ç", 20) }), ""},
		{"blank title", interactive(func(in *Interactive) { in.Buttons[0].Title = " " }), "title of 1 to 20"},
		{"id 256", interactive(func(in *Interactive) { in.Buttons[0].ID = strings.Repeat("i", MaxButtonIDRunes) }), ""},
		{"id 257", interactive(func(in *Interactive) { in.Buttons[0].ID = strings.Repeat("i", MaxButtonIDRunes+1) }), "id of 1 to 256"},
		{"id with spaces", interactive(func(in *Interactive) { in.Buttons[0].ID = " a" }), "without surrounding spaces"},
		{"same ids", interactive(func(in *Interactive) { in.Buttons[1].ID = in.Buttons[0].ID }), "same id"},
		{"list ok", list(func(*List) {}), ""},
		{"list of 10 rows in 2 sections", list(func(l *List) {
			l.Sections = []ListSection{{Title: "A", Rows: rows(5)}, {Title: "B", Rows: rows(10)[5:]}}
		}), ""},
		{"list of 11 rows", list(func(l *List) { l.Sections[0].Rows = rows(11) }), "more than 10 rows"},
		{"list of 11 sections", list(func(l *List) {
			l.Sections = nil
			for i := range 11 {
				l.Sections = append(l.Sections, ListSection{Title: "S" + strconv.Itoa(i), Rows: rows(1)})
			}
		}), "1 to 10 sections"},
		{"list without sections", list(func(l *List) { l.Sections = nil }), "1 to 10 sections"},
		{"list button 20 runes", list(func(l *List) { l.Button = strings.Repeat("ü", 20) }), ""},
		{"list button 21 runes", list(func(l *List) { l.Button = strings.Repeat("ü", 21) }), "button label"},
		{"list button blank", list(func(l *List) { l.Button = "" }), "button label"},
		{"section title 24 runes", list(func(l *List) { l.Sections[0].Title = strings.Repeat("é", 24) }), ""},
		{"section title 25 runes", list(func(l *List) { l.Sections[0].Title = strings.Repeat("é", 25) }), "section title"},
		{"untitled sections", list(func(l *List) { l.Sections = []ListSection{{Rows: rows(1)}, {Title: "B", Rows: rows(2)[1:]}} }), "need titles"},
		{"one untitled section", list(func(l *List) { l.Sections[0].Title = "" }), ""},
		{"empty section", list(func(l *List) { l.Sections[0].Rows = nil }), "without rows"},
		{"row id 200", list(func(l *List) { l.Sections[0].Rows[0].ID = strings.Repeat("i", 200) }), ""},
		{"row id 201", list(func(l *List) { l.Sections[0].Rows[0].ID = strings.Repeat("i", 201) }), "id of 1 to 200"},
		{"same row ids", list(func(l *List) { l.Sections[0].Rows[1].ID = l.Sections[0].Rows[0].ID }), "same id"},
		{"row title 24", list(func(l *List) { l.Sections[0].Rows[0].Title = strings.Repeat("ñ", 24) }), ""},
		{"row title 25", list(func(l *List) { l.Sections[0].Rows[0].Title = strings.Repeat("ñ", 25) }), "title of 1 to 24"},
		{"row description 72", list(func(l *List) { l.Sections[0].Rows[0].Description = strings.Repeat("ö", 72) }), ""},
		{"row description 73", list(func(l *List) { l.Sections[0].Rows[0].Description = strings.Repeat("ö", 73) }), "description longer than 72"},
		{"list and buttons", Message{Kind: KindInteractive, To: "1", Interactive: &Interactive{Body: "b",
			Buttons: []Button{{ID: "a", Title: "A"}}, List: &List{Button: "x", Sections: []ListSection{{Rows: rows(1)}}}}}, "both buttons and a list"},
		{"same titles", interactive(func(in *Interactive) { in.Buttons[1].Title = in.Buttons[0].Title }), "same title"},
		{"read without id", Message{Kind: KindRead}, "without message id"},
		{"unknown kind", Message{Kind: "sticker", To: "1"}, "unknown kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Validate() = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
