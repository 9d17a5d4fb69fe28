package sandbox

import (
	"reflect"
	"testing"
)

func TestFormat(t *testing.T) {
	plain := func(s string) Span { return Span{Text: s} }
	bold := func(s string) Span { return Span{Text: s, Bold: true} }
	italic := func(s string) Span { return Span{Text: s, Italic: true} }
	strike := func(s string) Span { return Span{Text: s, Strike: true} }
	mono := func(s string) Span { return Span{Text: s, Mono: true} }
	link := func(s, url string) Span { return Span{Text: s, Link: url} }

	tests := []struct {
		name string
		in   string
		want []Span
	}{
		{"empty", "", nil},
		{"plain", "Hello there", []Span{plain("Hello there")}},
		{"bold", "*bold*", []Span{bold("bold")}},
		{"italic", "_it_", []Span{italic("it")}},
		{"strike", "~gone~", []Span{strike("gone")}},
		{"mono", "```code```", []Span{mono("code")}},
		{"in a sentence", "a *b* c", []Span{plain("a "), bold("b"), plain(" c")}},
		{"after punctuation", "(*b*).", []Span{plain("("), bold("b"), plain(").")}},
		{"several words", "*two words*", []Span{bold("two words")}},
		{"nested", "*bold _both_*", []Span{bold("bold "), {Text: "both", Bold: true, Italic: true}}},
		{"nested at the edge", "~*both*~", []Span{{Text: "both", Bold: true, Strike: true}}},
		{"all three", "_~*x*~_", []Span{{Text: "x", Bold: true, Italic: true, Strike: true}}},
		{"unclosed", "*unclosed", []Span{plain("*unclosed")}},
		{"unclosed inner", "*a _b*", []Span{bold("a _b")}},
		{"lone marker", "5 * 3", []Span{plain("5 * 3")}},
		{"between digits", "2*3*4", []Span{plain("2*3*4")}},
		{"inside a word", "snake_case_name", []Span{plain("snake_case_name")}},
		{"closing before a letter", "*a*b", []Span{plain("*a*b")}},
		{"space after opener", "* not bold*", []Span{plain("* not bold*")}},
		{"space before closer", "*not bold *", []Span{plain("*not bold *")}},
		{"double marker", "**", []Span{plain("**")}},
		{"doubled markers", "**x**", []Span{plain("*"), bold("x"), plain("*")}},
		{"not across lines", "*a\nb*", []Span{plain("*a\nb*")}},
		{"line by line", "*a*\n_b_", []Span{bold("a"), plain("\n"), italic("b")}},
		{"unicode", "_ünïcödé_ naïve_x_", []Span{italic("ünïcödé"), plain(" naïve_x_")}},
		{"mono keeps markers", "```a *b* _c_ ~d~```", []Span{mono("a *b* _c_ ~d~")}},
		{"mono spans lines", "```line 1\nline 2```", []Span{mono("line 1\nline 2")}},
		{"mono inside bold", "*see ```x```*", []Span{bold("see "), {Text: "x", Bold: true, Mono: true}}},
		{"empty mono", "``````", []Span{plain("``````")}},
		{"unclosed mono", "```code", []Span{plain("```code")}},
		{"url", "go to https://example.com/a now", []Span{plain("go to "), link("https://example.com/a", "https://example.com/a"), plain(" now")}},
		{"url with underscores", "https://example.com/a_b_c", []Span{link("https://example.com/a_b_c", "https://example.com/a_b_c")}},
		{"url then full stop", "See http://example.com.", []Span{plain("See "), link("http://example.com", "http://example.com"), plain(".")}},
		{"url in parentheses", "(https://example.com/x)", []Span{plain("("), link("https://example.com/x", "https://example.com/x"), plain(")")}},
		{"url with parentheses", "https://en.wikipedia.org/wiki/A_(b)", []Span{link("https://en.wikipedia.org/wiki/A_(b)", "https://en.wikipedia.org/wiki/A_(b)")}},
		{"url with port and query", "http://127.0.0.1:8080/p/tok?x=1&y=2", []Span{link("http://127.0.0.1:8080/p/tok?x=1&y=2", "http://127.0.0.1:8080/p/tok?x=1&y=2")}},
		{"bold url", "*https://example.com*", []Span{{Text: "https://example.com", Bold: true, Link: "https://example.com"}}},
		{"italic around url", "_https://example.com/a_b_", []Span{{Text: "https://example.com/a_b", Italic: true, Link: "https://example.com/a_b"}}},
		{"www", "www.example.com", []Span{link("www.example.com", "https://www.example.com")}},
		{"bare www", "www. is not a link", []Span{plain("www. is not a link")}},
		{"upper case scheme", "HTTPS://EXAMPLE.COM", []Span{link("HTTPS://EXAMPLE.COM", "https://EXAMPLE.COM")}},
		{"url inside a word", "xhttps://example.com", []Span{plain("xhttps://example.com")}},
		{"javascript is text", "javascript:alert(1)", []Span{plain("javascript:alert(1)")}},
		{"data is text", "data:text/html,<b>x</b>", []Span{plain("data:text/html,<b>x</b>")}},
		{"scheme only", "https:// nothing", []Span{plain("https:// nothing")}},
		{"html stays text", `<script>alert("x")</script>`, []Span{plain(`<script>alert("x")</script>`)}},
		{"html inside bold", "*<b>x</b>*", []Span{bold("<b>x</b>")}},
		{"url stops at angle bracket", "<https://example.com>", []Span{plain("<"), link("https://example.com", "https://example.com"), plain(">")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Format(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Format(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

// TestFormatKeepsText checks that formatting only ever removes markers: the
// spans' texts, joined, are the input minus the markers it used.
func TestFormatKeepsText(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"a *b* _c_ ~d~ ```e```", "a b c d e"},
		{"2*3*4 and *x", "2*3*4 and *x"},
		{"*_~nested~_* https://x.org/a_b", "nested https://x.org/a_b"},
	}
	for _, tt := range tests {
		var got string
		for _, s := range Format(tt.in) {
			got += s.Text
		}
		if got != tt.want {
			t.Errorf("text of Format(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzFormat(f *testing.F) {
	for _, s := range []string{"*a _b_ ~c~*", "```x```", "https://example.com/_x_", "2*3*4", "www.a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sp := range Format(s) {
			if sp.Text == "" {
				t.Fatalf("Format(%q) has an empty span", s)
			}
			if sp.Link != "" && sp.Link[:4] != "http" {
				t.Fatalf("Format(%q) links to %q", s, sp.Link)
			}
		}
	})
}
