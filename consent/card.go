package consent

// Two things the seed asks of a number that talks to people, added to what
// the MO flow decides for a message:
//
//   - "Send your business contact early in the MO flow, so the customer can
//     store it on his/her phone": after the terms are accepted, or on HELP,
//     the business's contact card (its name and number; the adapters add the
//     wa_id, so that WhatsApp offers "Message" and "Add contact") goes once
//     per contact (Config.ContactCard).
//   - "Mark messages as read": a message the consent flows answer (START,
//     STOP, HELP, the terms buttons…) is marked read, before the answer.
//     Messages handed to the business's system are left for it to mark
//     (Config.ReadReceipts).

// Purposes of the messages card.go adds.
const (
	PurposeContactCard = "contact_card"
	PurposeRead        = "read_receipt"
)

// withCardAndReceipt adds the contact card and the read receipt to the plan
// decided for message m of snap's contact.
func (s *Service) withCardAndReceipt(snap Snapshot, m InboundMessage, p Plan) Plan {
	if len(p.Replies) == 0 || p.Erase != nil || p.Forward != nil {
		return p // nothing answered here: the message is not optin's to mark
	}
	if s.cfg.ContactCard && s.cfg.BusinessNumber != "" && !snap.CardSent && (p.ContactEvent == EventTermsAccepted || hasReply(p, "help")) {
		p.Replies = append(p.Replies, Reply{PurposeContactCard, s.ContactCard()})
	}
	if s.cfg.ReadReceipts && m.ID != "" {
		p.Replies = append([]Reply{{PurposeRead, Message{Kind: KindRead, ReadID: m.ID}}}, p.Replies...)
	}
	return p
}

// ContactCard is the business's contact card.
func (s *Service) ContactCard() Message {
	return Message{Kind: KindContacts, Contacts: []Card{{Name: s.cfg.BusinessName, Phone: s.cfg.BusinessNumber}}}
}

func hasReply(p Plan, purpose string) bool {
	for _, r := range p.Replies {
		if r.Purpose == purpose {
			return true
		}
	}
	return false
}
