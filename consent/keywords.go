package consent

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// KeywordKind is what a keyword asks for.
type KeywordKind string

// The kinds of keyword. KeywordNone is the zero value so that an ordinary
// message needs no special handling.
const (
	KeywordNone  KeywordKind = ""      // not a keyword: an ordinary message
	KeywordStop  KeywordKind = "stop"  // opt out of everything (or of Category when set)
	KeywordStart KeywordKind = "start" // opt in again (to everything, or to Category when set)
	KeywordHelp  KeywordKind = "help"  // send the help text with the human escalation path
)

// Keyword is a matched keyword.
type Keyword struct {
	Kind     KeywordKind
	Category string // slug, for "STOP <category>" / "START <category>"; "" = all
	// Rest is, for START, what followed the keyword when it is shaped like
	// an entry point code and its signature ("7KQ2-AB3D", or "7KQ2 - AB3D"
	// when a keyboard added spaces), upper-cased; "" when none. It is only
	// shaped like one: the caller verifies the signature (ParseStartCode).
	Rest string
	// Lang is the language the keyword shows the person wrote in ("es" for
	// AYUDA, "de" for HILFE), so that the answer is in it; "" when the word
	// belongs to several languages (INFO, PARAR) or is used across them
	// (STOP, START), and the contact's language applies.
	Lang string
}

// keywordWords lists, per language, the words (or short phrases) of each
// keyword kind. Matching folds case and accents, so "kündigen" also matches
// "KUNDIGEN"; accented spellings are listed anyway for readers. A word may
// appear in several languages (PARAR, CANCELAR, INFO) but always with the
// same kind: the index built from this map panics at start otherwise, which
// every test run catches. To add a language, add a block here and a row per
// word to the table in keywords_test.go.
//
// Words that are ordinary replies in a conversation ("yes", "si", "ja",
// "sim") only count when they are the whole message; the Service decides
// what a START means for the contact's current state.
var keywordWords = map[string]map[KeywordKind][]string{
	// English.
	"en": {
		KeywordStop:  {"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "opt out", "opt-out"},
		KeywordStart: {"start", "yes", "unstop", "subscribe", "optin", "opt in", "opt-in"},
		KeywordHelp:  {"help", "info"},
	},
	// Spanish.
	"es": {
		KeywordStop:  {"baja", "parar", "detener", "cancelar", "alto", "darme de baja"},
		KeywordStart: {"alta", "si", "sí", "comenzar", "suscribir"},
		KeywordHelp:  {"ayuda", "info"},
	},
	// Portuguese.
	"pt": {
		KeywordStop:  {"sair", "parar", "cancelar", "descadastrar"},
		KeywordStart: {"sim", "iniciar", "assinar", "voltar"},
		KeywordHelp:  {"ajuda", "info"},
	},
	// German.
	"de": {
		KeywordStop:  {"abmelden", "stopp", "abbestellen", "kündigen", "beenden"},
		KeywordStart: {"ja", "anmelden", "starten"},
		KeywordHelp:  {"hilfe", "info"},
	},
}

// allWords name every category after STOP or START: "STOP ALL" is the same
// as a bare "STOP". A category whose alias is one of these words wins.
var allWords = []string{
	"all", "everything", // English
	"todo", "todos", "todas", // Spanish
	"tudo", "todos", "todas", // Portuguese
	"alle", "alles", // German
}

// connectorWords may stand between the keyword and a category, as in
// "unsubscribe from offers" or "darme de baja de ofertas". One is skipped,
// and only when a category follows it.
var connectorWords = []string{
	"from", "to", // English
	"de", "del", "las", "los", // Spanish
	"de", "da", "do", "das", "dos", // Portuguese
	"von", "vom", "für", // German
}

// keywordTrim are the characters ignored at either end of each word:
// sentence punctuation of the supported languages (¡Alto! ¿Ayuda?), quotes,
// and WhatsApp's formatting markers (*bold*, _italic_, ~strike~, `mono`).
// Emoji are not among them: "STOP 👍" is not a keyword. The hyphen is not
// either, so entry point codes keep theirs.
const keywordTrim = ".,;:!?¡¿…*_~`\"'“”‘’«»„。！？、"

// maxKeywordTokens bounds the words a keyword message may have: the longest
// keyword and a category name fit well within it. Longer messages are
// ordinary messages, rejected without reading (or normalising) past it.
const maxKeywordTokens = 16

// Bounds of Rest: an entry point code with its signature, in at most
// maxCodeWords words ("7KQ2 - AB3D") and maxCodeLen bytes.
const (
	maxCodeWords = 3
	maxCodeLen   = 64
)

// internationalWords are keywords of one list that people write whatever
// their language (a German writes STOP as often as STOPP): they show no
// language.
var internationalWords = []string{"stop", "start"}

// The lists above, folded the way messages are, built once at start.
var (
	keywordIndex    map[string]KeywordKind // phrase → kind
	keywordLangs    map[string]string      // phrase → its only language, or ""
	maxKeywordWords int                    // words in the longest phrase
	allWordSet      = foldedSet(allWords)
	connectorSet    = foldedSet(connectorWords)
)

func init() {
	keywordIndex, maxKeywordWords = buildKeywordIndex(keywordWords)
	keywordLangs = buildKeywordLangs(keywordWords, internationalWords)
}

// buildKeywordLangs maps each folded phrase to the one language whose list
// has it; a phrase of several languages, or an international one, maps to "".
func buildKeywordLangs(words map[string]map[KeywordKind][]string, international []string) map[string]string {
	langs := make(map[string]string)
	for lang, kinds := range words {
		for _, list := range kinds {
			for _, w := range list {
				tokens, _ := keywordTokens(w, maxKeywordTokens)
				phrase := strings.Join(tokens, " ")
				if l, ok := langs[phrase]; ok && l != lang {
					langs[phrase] = ""
				} else if !ok {
					langs[phrase] = lang
				}
			}
		}
	}
	for _, w := range international {
		langs[NormalizeText(w)] = ""
	}
	return langs
}

func foldedSet(words []string) map[string]bool {
	set := make(map[string]bool, len(words))
	for _, w := range words {
		set[NormalizeText(w)] = true
	}
	return set
}

// buildKeywordIndex folds every phrase of words the way messages are folded.
// It panics when one phrase has two kinds: that is a mistake in the lists,
// not something a message can cause.
func buildKeywordIndex(words map[string]map[KeywordKind][]string) (map[string]KeywordKind, int) {
	index := make(map[string]KeywordKind)
	longest := 0
	for lang, kinds := range words {
		for kind, list := range kinds {
			for _, w := range list {
				tokens, _ := keywordTokens(w, maxKeywordTokens)
				if len(tokens) == 0 {
					panic("consent: empty keyword in language " + lang)
				}
				phrase := strings.Join(tokens, " ")
				if k, ok := index[phrase]; ok && k != kind {
					panic("consent: keyword " + phrase + " is both " + string(k) + " and " + string(kind))
				}
				index[phrase] = kind
				longest = max(longest, len(tokens))
			}
		}
	}
	return index, longest
}

// MatchKeyword recognises STOP/START/HELP keywords in text. aliases maps a
// category slug to the words that name it (its slug and its names in every
// language); the slug itself always counts, with "_" read as a space.
//
// Case, accents, surrounding whitespace and punctuation around words are
// ignored and inner whitespace is collapsed, but the whole message must be
// the keyword, optionally followed by a category (STOP, START) or an entry
// point code (START). "please stop sending me offers" is an ordinary
// message: a false opt-out silences someone who did not ask for it, and the
// business still sees the message when it is forwarded.
//
// A STOP or START followed by words that name no category (or more than one
// category) is deliberately KeywordNone, not a STOP of everything:
// "STOP xyz" is ambiguous, and guessing either way is wrong, so the message
// goes to a human. "STOP ALL" and its translations mean every category.
//
// Entry point links prefill "START <code>-<signature>", so after the word
// START (and no other opt-in word: "si claro" and "ja gerne" stay ordinary
// messages) what follows is returned upper-cased in Rest when it is shaped
// like a code: one word of ASCII letters, digits and hyphens ("START 7KQ2",
// "START HELLO"), or up to three such words holding the hyphen
// ("7KQ2 - AB3D"), but never a sentence ("start my order" is ordinary).
func MatchKeyword(text string, aliases map[string][]string) Keyword {
	tokens, ok := keywordTokens(text, maxKeywordTokens)
	if !ok || len(tokens) == 0 {
		return Keyword{}
	}
	// Longest phrase first ("opt out" before a category "out"), falling back
	// to shorter ones when what follows is not understood.
	for n := min(maxKeywordWords, len(tokens)); n >= 1; n-- {
		phrase := strings.Join(tokens[:n], " ")
		kind, found := keywordIndex[phrase]
		if !found {
			continue
		}
		if k, ok := completeKeyword(kind, phrase, tokens[n:], aliases); ok {
			k.Lang = keywordLangs[phrase]
			return k
		}
	}
	return Keyword{}
}

// completeKeyword reads what follows a keyword phrase.
func completeKeyword(kind KeywordKind, phrase string, rest []string, aliases map[string][]string) (Keyword, bool) {
	if len(rest) == 0 {
		return Keyword{Kind: kind}, true
	}
	if kind == KeywordHelp {
		return Keyword{}, false // "help me with my order" is a question for a human
	}
	if slug, ok := matchCategory(rest, aliases); ok {
		return Keyword{Kind: kind, Category: slug}, true
	}
	if len(rest) == 1 && allWordSet[rest[0]] {
		return Keyword{Kind: kind}, true
	}
	if phrase == "start" && isEntryCode(rest) {
		return Keyword{Kind: kind, Rest: strings.ToUpper(strings.Join(rest, " "))}, true
	}
	return Keyword{}, false
}

// matchCategory finds the one category that rest names, optionally after a
// connector word. A slug spelled out exactly beats another category's alias;
// otherwise an alias shared by two categories names neither.
func matchCategory(rest []string, aliases map[string][]string) (string, bool) {
	if len(aliases) == 0 {
		return "", false
	}
	names := foldAliases(aliases)
	if slug, ok := matchCategoryPhrase(categoryKey(rest), names); ok {
		return slug, true
	}
	if len(rest) > 1 && connectorSet[rest[0]] {
		return matchCategoryPhrase(categoryKey(rest[1:]), names)
	}
	return "", false
}

// categoryName is one folded name of a category.
type categoryName struct {
	slug, key string
	isSlug    bool
}

func foldAliases(aliases map[string][]string) []categoryName {
	var names []categoryName
	for slug, list := range aliases {
		names = append(names, categoryName{slug: slug, key: aliasKey(slug), isSlug: true})
		for _, a := range list {
			if a != slug {
				names = append(names, categoryName{slug: slug, key: aliasKey(a)})
			}
		}
	}
	return names
}

func matchCategoryPhrase(phrase string, names []categoryName) (string, bool) {
	var bySlug, byAlias string
	slugs, others := 0, 0
	for _, n := range names {
		switch {
		case n.key != phrase:
		case n.isSlug:
			bySlug = n.slug
			slugs++
		case n.slug != byAlias:
			byAlias = n.slug
			others++
		}
	}
	switch {
	case slugs == 1:
		return bySlug, true
	case slugs == 0 && others == 1:
		return byAlias, true
	}
	return "", false
}

// aliasKey folds a category slug or name the way a message is folded.
func aliasKey(s string) string {
	tokens, ok := keywordTokens(s, maxKeywordTokens)
	if !ok {
		return ""
	}
	return categoryKey(tokens)
}

// categoryKey joins folded words for comparison with category names, where
// "_" and "-" count as spaces: "order updates" names order_updates.
func categoryKey(tokens []string) string {
	joined := strings.Join(tokens, " ")
	if !strings.ContainsAny(joined, "_-") {
		return joined
	}
	joined = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return ' '
		}
		return r
	}, joined)
	return strings.Join(strings.Fields(joined), " ")
}

// isEntryCode reports whether the (folded) words are shaped like an entry
// point code with its signature, as MatchKeyword describes.
func isEntryCode(words []string) bool {
	if len(words) > maxCodeWords {
		return false
	}
	size, alnum, hyphen := len(words)-1, false, false
	for _, w := range words {
		size += len(w)
		for i := 0; i < len(w); i++ {
			switch c := w[i]; {
			case c >= '0' && c <= '9', c >= 'a' && c <= 'z':
				alnum = true
			case c == '-':
				hyphen = true
			default:
				return false
			}
		}
	}
	return alnum && size <= maxCodeLen && (len(words) == 1 || hyphen)
}

// keywordTokens splits s into folded words with keywordTrim characters
// removed from their ends, dropping words left empty. It reads at most limit
// words: ok is false when s has more.
func keywordTokens(s string, limit int) (tokens []string, ok bool) {
	for field := range strings.FieldsSeq(s) {
		w := strings.Trim(foldWord(field), keywordTrim)
		if w == "" {
			continue
		}
		if len(tokens) == limit {
			return tokens, false
		}
		tokens = append(tokens, w)
	}
	return tokens, true
}

// NormalizeText folds s for matching what people type: lower-case, accents
// and other combining marks stripped ("Kündigen" → "kundigen", "ß" → "ss"),
// invisible format and control characters (zero-width spaces, joiners,
// bidi marks, emoji variation selectors) removed, whitespace collapsed to
// single spaces and trimmed. Invalid UTF-8 becomes U+FFFD. Punctuation is
// kept. NormalizeText(NormalizeText(s)) == NormalizeText(s).
func NormalizeText(s string) string {
	var b strings.Builder
	for field := range strings.FieldsSeq(s) {
		w := foldWord(field)
		if w == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

// foldWord folds one whitespace-free field as NormalizeText describes.
func foldWord(w string) string {
	if simple, changed := foldASCII(w); simple {
		if !changed {
			return w
		}
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'A' && r <= 'Z':
				return r + 'a' - 'A'
			case r < ' ' || r == 0x7f:
				return -1
			}
			return r
		}, w)
	}
	var b strings.Builder
	b.Grow(len(w))
	for _, r := range norm.NFD.String(strings.ToValidUTF8(w, string(utf8.RuneError))) {
		r = unicode.ToLower(r)
		switch {
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Cc):
			// accents, enclosing marks and invisible characters
		case r == 'ß':
			b.WriteString("ss")
		default:
			b.WriteRune(r)
		}
	}
	folded := norm.NFC.String(b.String())
	if strings.IndexFunc(folded, unicode.IsSpace) >= 0 {
		// Never seen in practice; keeps NormalizeText idempotent.
		folded = strings.Join(strings.Fields(folded), "")
	}
	return folded
}

// foldASCII reports whether w is ASCII (so folding is only lower-casing and
// dropping control characters), and whether folding would change it.
func foldASCII(w string) (ascii, changed bool) {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= utf8.RuneSelf {
			return false, false
		}
		if (c >= 'A' && c <= 'Z') || c < ' ' || c == 0x7f {
			changed = true
		}
	}
	return true, changed
}
