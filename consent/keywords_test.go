package consent

import (
	"strings"
	"testing"
)

// keywordAliases is what the Service would pass: each category's slug and
// its names in every language.
var keywordAliases = map[string][]string{
	"offers":        {"offers", "Offers", "Ofertas", "Promoções", "Angebote"},
	"order_updates": {"order_updates", "Order updates", "Actualizaciones de pedidos", "Atualizações de pedidos", "Bestellstatus"},
	"news":          {"news", "News", "Noticias", "Notícias", "Neuigkeiten"},
}

func TestMatchKeywordEveryWord(t *testing.T) {
	tests := []struct {
		lang string
		text string
		want KeywordKind
	}{
		// English
		{"en", "STOP", KeywordStop},
		{"en", "STOPALL", KeywordStop},
		{"en", "STOP ALL", KeywordStop},
		{"en", "UNSUBSCRIBE", KeywordStop},
		{"en", "CANCEL", KeywordStop},
		{"en", "END", KeywordStop},
		{"en", "QUIT", KeywordStop},
		{"en", "REVOKE", KeywordStop},
		{"en", "OPTOUT", KeywordStop},
		{"en", "OPT OUT", KeywordStop},
		{"en", "OPT-OUT", KeywordStop},
		{"en", "START", KeywordStart},
		{"en", "YES", KeywordStart},
		{"en", "UNSTOP", KeywordStart},
		{"en", "SUBSCRIBE", KeywordStart},
		{"en", "OPTIN", KeywordStart},
		{"en", "OPT IN", KeywordStart},
		{"en", "OPT-IN", KeywordStart},
		{"en", "HELP", KeywordHelp},
		{"en", "INFO", KeywordHelp},
		// Spanish
		{"es", "BAJA", KeywordStop},
		{"es", "PARAR", KeywordStop},
		{"es", "DETENER", KeywordStop},
		{"es", "CANCELAR", KeywordStop},
		{"es", "ALTO", KeywordStop},
		{"es", "DARME DE BAJA", KeywordStop},
		{"es", "ALTA", KeywordStart},
		{"es", "SI", KeywordStart},
		{"es", "SÍ", KeywordStart},
		{"es", "COMENZAR", KeywordStart},
		{"es", "SUSCRIBIR", KeywordStart},
		{"es", "AYUDA", KeywordHelp},
		// Portuguese
		{"pt", "SAIR", KeywordStop},
		{"pt", "PARAR", KeywordStop},
		{"pt", "CANCELAR", KeywordStop},
		{"pt", "DESCADASTRAR", KeywordStop},
		{"pt", "SIM", KeywordStart},
		{"pt", "INICIAR", KeywordStart},
		{"pt", "ASSINAR", KeywordStart},
		{"pt", "VOLTAR", KeywordStart},
		{"pt", "AJUDA", KeywordHelp},
		// German
		{"de", "ABMELDEN", KeywordStop},
		{"de", "STOPP", KeywordStop},
		{"de", "ABBESTELLEN", KeywordStop},
		{"de", "KÜNDIGEN", KeywordStop},
		{"de", "BEENDEN", KeywordStop},
		{"de", "JA", KeywordStart},
		{"de", "ANMELDEN", KeywordStart},
		{"de", "STARTEN", KeywordStart},
		{"de", "HILFE", KeywordHelp},
	}
	for _, tt := range tests {
		for _, text := range []string{tt.text, strings.ToLower(tt.text), NormalizeText(tt.text)} {
			t.Run(tt.lang+"/"+text, func(t *testing.T) {
				got := MatchKeyword(text, keywordAliases)
				got.Lang = "" // TestMatchKeywordLanguage checks it
				if want := (Keyword{Kind: tt.want}); got != want {
					t.Errorf("MatchKeyword(%q) = %+v, want %+v", text, got, want)
				}
			})
		}
	}
}

// TestMatchKeywordLists checks the lists themselves, so that a word added
// to keywordWords without a row above still matches its kind.
func TestMatchKeywordLists(t *testing.T) {
	index, longest := buildKeywordIndex(keywordWords)
	if longest < 3 {
		t.Errorf("longest keyword has %d words, want at least 3 (DARME DE BAJA)", longest)
	}
	for lang, kinds := range keywordWords {
		for kind, words := range kinds {
			for _, w := range words {
				if got := index[NormalizeText(w)]; got != kind {
					t.Errorf("%s %q indexed as %q, want %q", lang, w, got, kind)
				}
				for _, text := range []string{w, strings.ToUpper(w), " " + w + "! "} {
					if got := MatchKeyword(text, nil); got.Kind != kind {
						t.Errorf("%s: MatchKeyword(%q).Kind = %q, want %q", lang, text, got.Kind, kind)
					}
				}
			}
		}
	}
	for _, lang := range []string{"en", "es", "pt", "de"} {
		for _, kind := range []KeywordKind{KeywordStop, KeywordStart, KeywordHelp} {
			if len(keywordWords[lang][kind]) == 0 {
				t.Errorf("no %s words for %s", kind, lang)
			}
		}
	}
}

func TestMatchKeywordConflictPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("buildKeywordIndex did not panic on a word with two kinds")
		}
	}()
	buildKeywordIndex(map[string]map[KeywordKind][]string{
		"xx": {KeywordStop: {"Halt"}},
		"yy": {KeywordStart: {"HALT"}},
	})
}

func TestMatchKeyword(t *testing.T) {
	stop := Keyword{Kind: KeywordStop}
	start := Keyword{Kind: KeywordStart}
	help := Keyword{Kind: KeywordHelp}
	none := Keyword{}
	tests := []struct {
		name string
		text string
		want Keyword
	}{
		// case, accents, whitespace, punctuation
		{"accent", "Sí", start},
		{"accent lower", "sí", start},
		{"accent upper", "SÍ", start},
		{"umlaut upper", "KÜNDIGEN", stop},
		{"umlaut folded", "kundigen", stop},
		{"umlaut decomposed", "Ku\u0308ndigen", stop},
		{"surrounding spaces", "  stop  ", stop},
		{"newlines and tabs", "\n\tStop\r\n", stop},
		{"no-break spaces", "\u00a0STOP\u00a0", stop},
		{"zero-width space", "\u200bstop\u200b", stop},
		{"exclamation", "Stop!", stop},
		{"full stop", "stop.", stop},
		{"many marks", "STOP!!!??", stop},
		{"spaced mark", "Stop !", stop},
		{"spanish marks", "¡Alto!", stop},
		{"spanish question", "¿Ayuda?", help},
		{"whatsapp bold", "*STOP*", stop},
		{"whatsapp italic", "_stop_", stop},
		{"quoted", "\"STOP\"", stop},
		{"inner spaces", "Darme   de \t BAJA", stop},
		{"inner spaces two words", "opt    out", stop},
		{"mixed case", "UnSuBsCrIbE", stop},
		{"stop all", "Stop all", stop},
		{"stop everything", "STOP EVERYTHING", stop},
		{"parar todo", "parar todo", stop},
		{"sair tudo", "Sair tudo", stop},
		{"abmelden alle", "abmelden alle", stop},
		{"start all", "start all", start},

		// STOP and START with a category
		{"en category", "Stop offers", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"de category", "STOP Angebote", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"es category", "stop ofertas", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"es keyword and category", "Parar ofertas", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"pt category", "SAIR PROMOÇÕES", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"pt category folded", "sair promocoes", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"de keyword and category", "Abmelden Neuigkeiten", Keyword{Kind: KeywordStop, Category: "news"}},
		{"category with punctuation", "Stop offers!", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"slug with space", "stop order updates", Keyword{Kind: KeywordStop, Category: "order_updates"}},
		{"slug typed", "STOP order_updates", Keyword{Kind: KeywordStop, Category: "order_updates"}},
		{"slug with hyphen", "stop order-updates", Keyword{Kind: KeywordStop, Category: "order_updates"}},
		{"multi-word alias", "Baja actualizaciones de pedidos", Keyword{Kind: KeywordStop, Category: "order_updates"}},
		{"multi-word keyword and alias", "darme de baja noticias", Keyword{Kind: KeywordStop, Category: "news"}},
		{"connector en", "unsubscribe from offers", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"connector es", "darme de baja de ofertas", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"connector de", "abmelden von Angebote", Keyword{Kind: KeywordStop, Category: "offers"}},
		{"two-word keyword and category", "opt out news", Keyword{Kind: KeywordStop, Category: "news"}},
		{"start category", "START offers", Keyword{Kind: KeywordStart, Category: "offers"}},
		{"start category es", "alta noticias", Keyword{Kind: KeywordStart, Category: "news"}},

		// unknown category: never a STOP of everything, never a guess
		{"unknown category", "STOP xyz", none},
		{"unknown category word", "stop newsletter", none},
		{"unknown category start", "subscribe newsletter", none},
		{"connector without category", "unsubscribe from", none},
		{"category then more", "stop offers now", none},

		// START with an entry point code
		{"code", "START 7kq2-ab3d", Keyword{Kind: KeywordStart, Rest: "7KQ2-AB3D"}},
		{"code upper", "START 7KQ2", Keyword{Kind: KeywordStart, Rest: "7KQ2"}},
		{"code with mark", "START 7KQ2-AB3D.", Keyword{Kind: KeywordStart, Rest: "7KQ2-AB3D"}},
		{"code of letters", "START HELLO-ABCD", Keyword{Kind: KeywordStart, Rest: "HELLO-ABCD"}},
		{"code without signature", "START HELLO", Keyword{Kind: KeywordStart, Rest: "HELLO"}},
		{"code with spaced hyphen", "start 7kq2 - ab3d", Keyword{Kind: KeywordStart, Rest: "7KQ2 - AB3D"}},
		{"code with half-spaced hyphen", "START 7KQ2 -AB3D", Keyword{Kind: KeywordStart, Rest: "7KQ2 -AB3D"}},
		{"code with accent typed", "START 7KQ2-ÁB3D", Keyword{Kind: KeywordStart, Rest: "7KQ2-AB3D"}},
		{"one word after START is only a candidate", "start now", Keyword{Kind: KeywordStart, Rest: "NOW"}},
		{"sentence after START", "start my order", none},
		{"code in two words without hyphen", "START 7KQ2 AB3D", none},
		{"code and a sentence", "START 7KQ2-AB3D hi there friend", none},
		{"hyphen only", "START -", none},
		{"code with symbol", "START 7KQ2/AB3D", none},
		{"code too long", "START " + strings.Repeat("7", maxCodeLen+1), none},
		{"code after YES", "yes 7kq2-ab3d", none},
		{"code after STARTEN", "starten 7kq2-ab3d", none},
		{"word after SI", "si claro", none},
		{"word after JA", "ja gerne", none},
		{"word after YES", "yes please", none},
		{"no code after STOP", "STOP 7KQ2", none},

		// false positives
		{"empty", "", none},
		{"blank", " \t\n ", none},
		{"punctuation only", "?!", none},
		{"emoji only", "👍", none},
		{"stop sign emoji", "🛑", none},
		{"keyword and emoji", "STOP 🛑", none},
		{"sentence", "please stop sending me offers", none},
		{"stop it", "stop it please", none},
		{"cancel order", "I want to cancel my order", none},
		{"helpful", "helpful", none},
		{"stopping", "stopping", none},
		{"prefix", "stopp it", none},
		{"help with", "help me with my order", none},
		{"help with category", "help offers", none},
		{"info about", "info about my order", none},
		{"dotted", "s.t.o.p", none},
		{"keyword glued to emoji", "stop👍", none},
		{"end of sentence", "That's the end", none},
		{"very long", strings.Repeat("stop ", 1000), none},
		{"very long single word", strings.Repeat("stop", 5000), none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MatchKeyword(tt.text, keywordAliases)
			got.Lang = "" // TestMatchKeywordLanguage checks it
			if got != tt.want {
				t.Errorf("MatchKeyword(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestMatchKeywordCategoryAmbiguity(t *testing.T) {
	aliases := map[string][]string{
		"promos": {"promos", "deals"},
		"offers": {"offers", "deals", "promos"},
		"news":   {"news"},
	}
	tests := []struct {
		name string
		text string
		want Keyword
	}{
		{"alias of two categories", "stop deals", Keyword{}},
		{"slug beats alias", "stop promos", Keyword{Kind: KeywordStop, Category: "promos"}},
		{"slug alone in aliases", "stop news", Keyword{Kind: KeywordStop, Category: "news"}},
		{"no aliases", "stop offers", Keyword{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := aliases
			if tt.name == "no aliases" {
				a = nil
			}
			got := MatchKeyword(tt.text, a)
			if got != tt.want {
				t.Errorf("MatchKeyword(%q) = %+v, want %+v", tt.text, got, tt.want)
			}
		})
	}
	// The slug counts even when the caller forgot to list it.
	got := MatchKeyword("stop order updates", map[string][]string{"order_updates": {"Bestellstatus"}})
	if want := (Keyword{Kind: KeywordStop, Category: "order_updates"}); got != want {
		t.Errorf("MatchKeyword with unlisted slug = %+v, want %+v", got, want)
	}
}

func TestKeywordNormalizeText(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"  Kündigen  ", "kundigen"},
		{"Ku\u0308ndigen", "kundigen"},
		{"Straße", "strasse"},
		{"Ça  va\tbien\n", "ca va bien"},
		{"ÀÉÎÕÜ ñ", "aeiou n"},
		{"PROMOÇÕES", "promocoes"},
		{"zero\u200bwidth", "zerowidth"},
		{"👍\ufe0f", "👍"},
		{"A\x00B", "ab"},
		{"\xff", "\ufffd"},
		{"Hello, World!", "hello, world!"},
		{"İstanbul", "istanbul"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := NormalizeText(tt.in)
			if got != tt.want {
				t.Errorf("NormalizeText(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if again := NormalizeText(got); again != got {
				t.Errorf("NormalizeText(%q) = %q, not idempotent", got, again)
			}
		})
	}
}

func FuzzMatchKeyword(f *testing.F) {
	for _, s := range []string{
		"", "STOP", "stop offers", "Sí", "KÜNDIGEN", "¡Alto!", "START 7KQ2-AB3D",
		"darme de baja de ofertas", "stop order_updates", "please stop sending me offers",
		"👍\ufe0f", "\u200bstop", "Ku\u0308ndigen", "\xff\xfe", "ß", "İ", "stop \u0301offers",
	} {
		f.Add(s)
	}
	kinds := map[KeywordKind]bool{KeywordNone: true, KeywordStop: true, KeywordStart: true, KeywordHelp: true}
	f.Fuzz(func(t *testing.T, text string) {
		got := MatchKeyword(text, keywordAliases)
		if !kinds[got.Kind] {
			t.Fatalf("MatchKeyword(%q).Kind = %q, not a KeywordKind", text, got.Kind)
		}
		if _, ok := keywordAliases[got.Category]; got.Category != "" && !ok {
			t.Fatalf("MatchKeyword(%q).Category = %q, not a category", text, got.Category)
		}
		if (got.Category != "" || got.Rest != "") && got.Kind != KeywordStop && got.Kind != KeywordStart {
			t.Fatalf("MatchKeyword(%q) = %+v: only STOP and START take a category or code", text, got)
		}
		if got.Rest != "" && (got.Kind != KeywordStart || got.Category != "") {
			t.Fatalf("MatchKeyword(%q) = %+v: a code only follows START", text, got)
		}
		normalized := NormalizeText(text)
		if again := MatchKeyword(normalized, keywordAliases); again != got {
			t.Fatalf("MatchKeyword(%q) = %+v, but MatchKeyword(NormalizeText) = %+v", text, got, again)
		}
		if again := NormalizeText(normalized); again != normalized {
			t.Fatalf("NormalizeText(%q) = %q, not idempotent: %q", text, normalized, again)
		}
	})
}

func BenchmarkMatchKeyword(b *testing.B) {
	long := strings.Repeat("Hello, I would like to change the delivery address of my order. ", 60)
	for _, bm := range []struct{ name, text string }{
		{"stop", "STOP"},
		{"accented", "Kündigen!"},
		{"category", "darme de baja de ofertas"},
		{"code", "START 7KQ2-AB3D"},
		{"sentence", "start my order please"},
		{"ordinary", "Hi, can I change my delivery address?"},
		{"long", long},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MatchKeyword(bm.text, keywordAliases)
			}
		})
	}
}

// TestMatchKeywordLanguage: a keyword of one language shows the person wrote
// in it, so that the answer is in that language; words shared by languages
// or used across them (STOP, START, INFO) show none.
func TestMatchKeywordLanguage(t *testing.T) {
	tests := []struct{ text, want string }{
		{"AYUDA", "es"},
		{"¿Ayuda?", "es"},
		{"HILFE", "de"},
		{"AJUDA", "pt"},
		{"HELP", "en"},
		{"abmelden", "de"},
		{"STOPP Angebote", "de"},
		{"darme de baja de ofertas", "es"},
		{"sair promocoes", "pt"},
		{"unsubscribe from offers", "en"},
		{"si", "es"},
		{"ja", "de"},
		{"sim", "pt"},
		{"STOP", ""},
		{"STOP Angebote", ""},
		{"START 7KQ2-AB3D", ""},
		{"INFO", ""},
		{"PARAR", ""},
		{"cancelar", ""},
		{"hello", ""},
	}
	for _, tt := range tests {
		if got := MatchKeyword(tt.text, keywordAliases).Lang; got != tt.want {
			t.Errorf("MatchKeyword(%q).Lang = %q, want %q", tt.text, got, tt.want)
		}
	}
	// Every word of a language's list that no other list shares shows it.
	for lang, kinds := range keywordWords {
		for _, words := range kinds {
			for _, w := range words {
				got := keywordLangs[NormalizeText(w)]
				if got != "" && got != lang {
					t.Errorf("%s %q shows language %q", lang, w, got)
				}
			}
		}
	}
}
