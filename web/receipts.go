package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
	"github.com/optin/optin/web/i18n"
)

// handleReceiptShow answers GET /p/{token}/receipts/{file}: {id}.json is the consent
// receipt as Kantara JSON, {id} the same receipt as a page. The id is
// unguessable, so the link itself is the permission to read it.
func (s *Server) handleReceiptShow(w http.ResponseWriter, r *http.Request) {
	id, asJSON := strings.CutSuffix(r.PathValue("file"), ".json")
	if !validReceiptID(id) {
		s.renderError(w, r, http.StatusNotFound)
		return
	}
	c, err := s.svc.PreferenceContact(r.Context(), r.PathValue("token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc, err := s.svc.Receipt(r.Context(), c.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The URL is a bearer link: keep it out of caches, referrers and indexes.
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Robots-Tag", "noindex")
	if asJSON {
		writeJSON(w, http.StatusOK, rc)
		return
	}
	lang := i18n.Match(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	render(w, r, http.StatusOK, views.ReceiptPage(s.receiptModel(r, rc, lang)))
}

// validReceiptID reports whether id has the form of consent.ReceiptID.
func validReceiptID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// receiptModel explains a receipt in lang.
func (s *Server) receiptModel(r *http.Request, rc consent.Receipt, lang string) views.ReceiptModel {
	t := func(key string, args ...any) string { return i18n.T(lang, key, args...) }
	yesNo := func(b bool) string {
		if b {
			return t("receipt.yes")
		}
		return t("receipt.no")
	}
	m := views.ReceiptModel{
		Layout:           s.layout(r, lang, t("receipt.title"), false),
		ID:               rc.ConsentReceiptID,
		JSONURL:          rc.ConsentReceiptID + ".json", // relative: stays under /p/{token}/receipts/
		Version:          rc.Version,
		Jurisdiction:     rc.Jurisdiction,
		When:             time.Unix(rc.ConsentTimestamp, 0).UTC().Format("2006-01-02 15:04 UTC"),
		CollectionMethod: receiptMethod(lang, rc.Source, rc.EntryPoint),
		Language:         i18n.Name(rc.Language),
		Principal:        rc.PIIPrincipalID,
		PolicyURL:        rc.PolicyURL,
		Sensitive:        yesNo(rc.Sensitive),
		WordingHash:      rc.Extension.WordingSHA256,
		WordingVersion:   rc.Extension.WordingVersion,
		WordingText:      rc.WordingText,
		EventHashes:      rc.Extension.EventHashes,
	}
	if len(rc.PIIControllers) > 0 {
		c := rc.PIIControllers[0]
		address := strings.TrimSpace(strings.Trim(c.Address.StreetAddress+", "+c.Address.AddressCountry, ", "))
		m.Controller = views.ReceiptControllerModel{Name: c.PIIController, Contact: c.Contact, Address: address,
			Email: c.Email, Phone: c.Phone, URL: c.PIIControllerURL}
	}
	for _, svc := range rc.Services {
		m.Service = t("receipt.service.body", m.Controller.Name)
		for _, p := range svc.Purposes {
			kind := t("receipt.purpose.core")
			if p.Marketing {
				kind = t("receipt.purpose.marketing")
			}
			third := ""
			if p.ThirdPartyDisclosure {
				third = t("receipt.thirdparty.body", p.ThirdPartyName)
			}
			m.Purposes = append(m.Purposes, views.ReceiptPurposeModel{
				Name: p.Purpose, Category: kind, ConsentType: t("receipt.consent.explicit"),
				PIICategory: t("receipt.pii.phone"), Primary: yesNo(p.PrimaryPurpose),
				Termination: t("receipt.termination.body"), ThirdParty: third,
			})
		}
	}
	return m
}

// receiptMethod says how the consent was collected, in lang.
func receiptMethod(lang string, src consent.Source, entryPoint string) string {
	key := "receipt.method." + string(src)
	if entryPoint != "" && (src == consent.SourceLink || src == consent.SourceQR || src == consent.SourceWhatsAppReply) {
		return i18n.T(lang, "receipt.method.entry", entryPoint)
	}
	if msg := i18n.T(lang, key); msg != key {
		return msg
	}
	return string(src)
}
