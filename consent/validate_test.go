package consent

import (
	"strings"
	"testing"
)

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
			b = append(b, Button{ID: "b", Title: title})
		}
		return b
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
		{"long title", Message{Kind: KindInteractive, To: "1", Interactive: &Interactive{Body: "b", Buttons: buttons(1, strings.Repeat("x", 21))}}, "at most 20"},
		{"card without name", Message{Kind: KindContacts, To: "1", Contacts: []Card{{Phone: "+1"}}}, "without name"},
		{"read ok", Message{Kind: KindRead, ReadID: "wamid.1"}, ""},
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
