package consent

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
	return map[string]Message{
		"terms prompt":   s.termsPrompt(lang),
		"terms accepted": s.text(lang, "mo.terms.accepted", list, s.cfg.BusinessName),
		"terms declined": s.text(lang, "mo.terms.declined", s.cfg.BusinessName),
		"terms expired":  s.text(lang, "mo.terms.expired", s.cfg.BusinessName),
		"stop all":       s.text(lang, "mo.stop.all", s.cfg.BusinessName, link),
		"stop category":  s.text(lang, "mo.stop.category", names[0], link),
		"stop marketing": s.text(lang, "mo.stop.marketing"),
		"stop nothing":   s.text(lang, "mo.stop.nothing", s.cfg.BusinessName, link),
		"confirmed":      s.text(lang, "mo.confirmed", list, s.cfg.BusinessName),
		"help":           s.helpMessage(lang, link),
		"fallback":       s.fallbackMessage(lang),
		"welcome single": *s.welcomeMessage(&single, tplLang, textLang, names),
		"welcome double": *s.welcomeMessage(&double, tplLang, textLang, names),
	}
}
