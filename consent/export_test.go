package consent

import (
	"fmt"
	"strings"
)

// BuiltinMessages renders every message the Service sends from its built-in
// texts, in lang, the way the flows build them: names are the categories a
// message names (in lang), link a preference link. Each entry carries the
// i18n keys its texts come from.
//
// When a flow gets a new message, add it here: TestBuiltinMessagesFit fails
// for any "mo." or "welcome." key that no message below renders.
func (s *Service) BuiltinMessages(lang string, names []string, link string) map[string]Message {
	list := joinParam(names)
	single, double := *s.settings(), *s.settings()
	single.Mode, double.Mode = Single, Double
	tplLang, textLang := s.settings().WelcomeLanguageFor(lang)
	// The categories named: the first not for marketing, the others
	// promotional, each with a description of the longest allowed length.
	cats := make([]Category, len(names))
	aliases := map[string][]string{}
	for i, n := range names {
		slug := fmt.Sprintf("category_%d", i)
		cats[i] = Category{Slug: slug, Name: n, Marketing: i > 0, Description: strings.Repeat("d", MaxCategoryDesc)}
		aliases[slug] = []string{n}
	}
	cat := catalog{lang: cats}
	snap := Snapshot{EntryCategories: make([]string, len(cats))}
	for i, c := range cats {
		snap.EntryCategories[i] = c.Slug
	}
	return map[string]Message{
		"terms prompt":   s.termsPrompt(lang, cats),
		"terms choice":   s.termsChoice(lang, cats),
		"terms chosen":   s.text(lang, "mo.terms.chosen", names[0], s.cfg.BusinessName, link),
		"terms accepted": s.text(lang, "mo.terms.accepted", list, s.cfg.BusinessName),
		"terms declined": s.text(lang, "mo.terms.declined", s.cfg.BusinessName),
		"terms expired":  s.text(lang, "mo.terms.expired", s.cfg.BusinessName),
		"stop all":       s.text(lang, "mo.stop.all", s.cfg.BusinessName, link),
		"stop category":  s.text(lang, "mo.stop.category", names[0], link),
		"stop marketing": s.text(lang, "mo.stop.marketing"),
		"stop nothing":   s.text(lang, "mo.stop.nothing", s.cfg.BusinessName, link),
		"confirmed":      s.text(lang, "mo.confirmed", list, s.cfg.BusinessName),
		"help":           s.helpMessage(lang, link, s.helpTopics(lang, snap, cat, aliases)),
		"fallback":       s.fallbackMessage(lang),
		"welcome single": *s.welcomeMessage(&single, tplLang, textLang, names),
		"welcome double": *s.welcomeMessage(&double, tplLang, textLang, names),
	}
}
