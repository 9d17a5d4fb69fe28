package sandbox

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Span is a run of message text with one WhatsApp style. Text is plain text,
// never markup: the page escapes it like any other text. Link, when set, is
// an http or https URL the span links to.
type Span struct {
	Text   string
	Bold   bool
	Italic bool
	Strike bool
	Mono   bool
	Link   string
}

// Format splits a message text into spans following WhatsApp's formatting:
// *bold*, _italic_, ~strike~ and ```monospace```, nested as the person
// writes them, and http(s) and www. addresses as links.
//
// The rules are WhatsApp's as seen in its apps: a marker opens only at the
// start of the text or after a character that is not a letter or digit, and
// must be followed by a non-space; it closes on the same line before a
// non-space and not before a letter or digit. So "2*3*4" and "snake_case"
// stay as they are, and a marker without its partner is plain text.
// Monospace may span lines and shows its content literally. Addresses are
// recognised before markers, so underscores inside a URL never turn into
// italics.
func Format(text string) []Span {
	var f formatter
	f.parse(text, Span{})
	return f.out
}

type formatter struct {
	out []Span
}

// emit appends text with style st, merging it into the previous span when
// both look the same, so the page gets as few elements as possible.
func (f *formatter) emit(text string, st Span) {
	if text == "" {
		return
	}
	st.Text = text
	if n := len(f.out); n > 0 && st.Link == "" && !st.Mono {
		last := &f.out[n-1]
		if last.Link == "" && !last.Mono && last.Bold == st.Bold && last.Italic == st.Italic && last.Strike == st.Strike {
			last.Text += text
			return
		}
	}
	f.out = append(f.out, st)
}

// parse formats s, which inherits the style st from the markers around it.
func (f *formatter) parse(s string, st Span) {
	start := 0 // beginning of the plain text not yet emitted
	// unclosed[m] is where the line ends after a marker m found no partner:
	// later markers m before it need not look again, which keeps long lines
	// of unmatched markers ("*a *a *a…") linear.
	var unclosed [3]int
	for i := 0; i < len(s); {
		if n := monoAt(s, i); n > 0 {
			f.emit(s[start:i], st)
			mono := st
			mono.Mono = true
			f.emit(s[i+len(monoMarker):i+n-len(monoMarker)], mono)
			i += n
			start = i
			continue
		}
		if n, link := urlAt(s, i); n > 0 {
			f.emit(s[start:i], st)
			l := st
			l.Link = link
			f.emit(s[i:i+n], l)
			i += n
			start = i
			continue
		}
		if c := s[i]; isMarker(c) && i >= unclosed[markerIndex(c)] && opens(s, i) {
			j, lineEnd := closing(s, i)
			if j > 0 {
				f.emit(s[start:i], st)
				f.parse(s[i+1:j], withMarker(st, c))
				i = j + 1
				start = i
				continue
			}
			unclosed[markerIndex(c)] = lineEnd
		}
		i++
	}
	f.emit(s[start:], st)
}

const monoMarker = "```"

// monoAt returns the length of a ```monospace``` block starting at i, markers
// included, or 0. The content must not be empty.
func monoAt(s string, i int) int {
	if !strings.HasPrefix(s[i:], monoMarker) {
		return 0
	}
	body := s[i+len(monoMarker):]
	end := strings.Index(body, monoMarker)
	if end <= 0 {
		return 0
	}
	return 2*len(monoMarker) + end
}

func isMarker(c byte) bool { return c == '*' || c == '_' || c == '~' }

func markerIndex(c byte) int { return strings.IndexByte("*_~", c) }

func withMarker(st Span, c byte) Span {
	switch c {
	case '*':
		st.Bold = true
	case '_':
		st.Italic = true
	case '~':
		st.Strike = true
	}
	return st
}

// isWord reports whether r is part of a word, next to which a marker is an
// ordinary character ("2*3", "snake_case").
func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// opens reports whether the marker at i can open a styled run.
func opens(s string, i int) bool {
	if i > 0 {
		if prev, _ := utf8.DecodeLastRuneInString(s[:i]); isWord(prev) {
			return false
		}
	}
	next, size := utf8.DecodeRuneInString(s[i+1:])
	return size > 0 && !unicode.IsSpace(next) && next != rune(s[i])
}

// closing finds the marker that closes the one at i, on the same line,
// stepping over links and monospace blocks. When there is none it returns
// -1 and where the line ends.
func closing(s string, i int) (j, lineEnd int) {
	c := s[i]
	k := i + 2
	for k < len(s) {
		if s[k] == '\n' {
			return -1, k
		}
		if n := monoAt(s, k); n > 0 {
			k += n
			continue
		}
		if n, _ := urlAt(s, k); n > 0 {
			k += n
			continue
		}
		if s[k] == c {
			prev, _ := utf8.DecodeLastRuneInString(s[:k])
			next, size := utf8.DecodeRuneInString(s[k+1:])
			if !unicode.IsSpace(prev) && (size == 0 || !isWord(next)) {
				return k, 0
			}
		}
		k++
	}
	return -1, len(s)
}

// urlAt returns the length of a web address starting at i and the URL it
// links to, or 0. Only http and https addresses link (and www. ones, as
// https), so a message can never produce a javascript: or data: link.
// Punctuation that ends a sentence, and formatting markers, are not part of
// the address; a closing parenthesis is when the address opened one.
func urlAt(s string, i int) (int, string) {
	if c := s[i] | 0x20; c != 'h' && c != 'w' {
		return 0, "" // the common case, cheaply
	}
	rest := s[i:]
	lower := strings.ToLower(rest[:min(len(rest), 8)])
	scheme := ""
	switch {
	case strings.HasPrefix(lower, "https://"), strings.HasPrefix(lower, "http://"):
	case strings.HasPrefix(lower, "www."):
		scheme = "https://"
	default:
		return 0, ""
	}
	if i > 0 {
		if prev, _ := utf8.DecodeLastRuneInString(s[:i]); isWord(prev) || prev == '/' || prev == '.' || prev == '@' {
			return 0, ""
		}
	}
	n := strings.IndexFunc(rest, func(r rune) bool {
		return unicode.IsSpace(r) || r == '<' || r == '>' || r == '"' || r == '`'
	})
	if n < 0 {
		n = len(rest)
	}
	for n > 0 {
		last := rest[n-1]
		if strings.IndexByte(".,;:!?'*_~]}", last) >= 0 ||
			(last == ')' && strings.Count(rest[:n], "(") < strings.Count(rest[:n], ")")) {
			n--
			continue
		}
		break
	}
	u, err := url.Parse(scheme + rest[:n])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasPrefix(u.Host, ".") {
		return 0, ""
	}
	if h := u.Hostname(); scheme != "" && (len(h) <= len("www.") || !strings.Contains(strings.Trim(h[len("www."):], "."), ".")) {
		return 0, "" // "www." or "www.example": not an address yet
	}
	return n, u.String()
}
