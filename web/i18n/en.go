package i18n

// en is the reference catalog: every key lives here first.
var en = map[string]string{
	// Page chrome.
	"app.skip":        "Skip to content",
	"app.language":    "Language",
	"app.footer":      "Consent managed with optin",
	"app.title.error": "Error: %s",

	// The opt-in form.
	"optin.title":             "Get %s updates on WhatsApp",
	"optin.intro":             "Choose the messages you want. We'll only send what you pick, and you can stop at any time.",
	"optin.country.label":     "Country",
	"optin.phone.label":       "WhatsApp number",
	"optin.phone.hint":        "Start with + and the country code, or choose your country above.",
	"optin.categories.legend": "Which messages would you like?",
	"optin.categories.hint":   "Choose at least one.",
	"optin.submit":            "Subscribe on WhatsApp",
	"optin.terms.link":        "Terms and privacy",
	"optin.errors.summary":    "Please correct the following:",
	// The consent wording is stored as evidence with every opt-in: change it
	// only on purpose, in every language at once.
	"optin.wording": "I agree that %s may send me the selected kinds of messages on WhatsApp. I can change my choice or stop at any time by replying STOP or through the link in every message.",

	// Field errors reported by the consent domain.
	"phone.empty":          "Enter your WhatsApp number.",
	"phone.letters":        "A phone number can only contain digits, spaces, dashes, brackets and +. Remove the letters.",
	"phone.too_short":      "This number is too short. Check it and include the area code.",
	"phone.too_long":       "This number is too long. Check it for extra digits.",
	"phone.invalid_region": "We couldn't tell which country this number is from. Start with + and the country code, or choose your country.",
	"phone.invalid":        "This number isn't valid. Check the digits and the country.",
	"category.required":    "Choose at least one kind of message.",
	"category.unknown":     "One of the kinds of message you chose is no longer offered. Choose again from the list.",
	"country.unknown":      "Choose a country from the list.",

	// Thank-you page.
	"thanks.title":        "Thank you!",
	"thanks.title.double": "Almost done",
	"thanks.single":       "We'll send a welcome message to %s on WhatsApp. It should arrive within a minute or two.",
	"thanks.double":       "We're sending a message to %s on WhatsApp. Tap Confirm in it to finish subscribing.",
	"thanks.categories":   "You chose:",
	"thanks.nothing_new":  "You already receive all of these, so we haven't sent a new message.",
	"thanks.change":       "You can change your choice at any time: reply STOP to any of our messages, or use the link in them.",

	// Error pages.
	"error.back":      "Go back",
	"error.status":    "Error %d",
	"error.400.title": "We couldn't process that request",
	"error.400.body":  "Something in what was sent didn't look right. Go back and try again.",
	"error.404.title": "Page not found",
	"error.404.body":  "The link may be mistyped or may have expired. Check the address, or go back and start again.",
	"error.413.title": "That was too much to send",
	"error.413.body":  "The form sent more than we accept. Go back, check what you entered and try again.",
	"error.429.title": "Too many attempts",
	"error.429.body":  "To keep things secure, we've paused sign-ups from here for a while. Please try again in an hour.",
	"error.500.title": "Something went wrong on our side",
	"error.500.body":  "Sorry, we couldn't finish that. Please try again in a few minutes.",

	// Terms page.
	"terms.title": "Terms and privacy",
	"terms.body":  "By subscribing you allow %s to send you the kinds of WhatsApp messages you chose, to the number you gave.\n\nWe keep a record of your choice (what you agreed to, when and how) because the law asks us to be able to prove it. We use your number only to send you the messages you chose, and we never sell it.\n\nYou can stop at any time: reply STOP to any message, or STOP followed by a kind of message to stop only that one. Reply HELP to reach a person.\n\nYou can ask to see or delete the data we keep about you at any time.",

	// The welcome message: %s are the chosen categories, the business name and
	// the preference center link.
	"welcome.body":           "Hi! You're now subscribed to %s from %s on WhatsApp. Reply STOP to unsubscribe or HELP for help.",
	"welcome.body.double":    "Hi! Please confirm that you want to receive %s from %s on WhatsApp: tap Confirm below. If this wasn't you, just ignore this message.",
	"welcome.button.confirm": "Confirm",
	"welcome.button.manage":  "Manage my choices",
	"welcome.manage":         "Manage your choices: %s",
	"welcome.button.stop":    "Stop promotions",

	// Names and descriptions of the categories seeded by default.
	"categories.order_updates.name":          "Order updates",
	"categories.order_updates.description":   "Shipping and delivery news for your orders",
	"categories.offers.name":                 "Offers",
	"categories.offers.description":          "Discounts, sales and special deals",
	"categories.recommendations.name":        "Recommendations",
	"categories.recommendations.description": "Products and tips picked for you",

	// The MO flow: the terms prompt and keyword replies sent on WhatsApp.
	"mo.terms.prompt":   "Hi! This is %s on WhatsApp. Before we continue, please accept our terms: we keep your number and your choices so that we can send you the messages you asked for, and you can stop at any time by replying STOP. Terms: %s",
	"mo.terms.footer":   "If you decline, we delete your number and your message.",
	"mo.terms.accept":   "Accept",
	"mo.terms.decline":  "Decline",
	"mo.terms.accepted": "Thank you! You're now subscribed to %s from %s. Reply STOP at any time to unsubscribe, or HELP for help.",
	"mo.stop.all":       "You're unsubscribed: %s won't send you any more messages here. Reply START if you change your mind.\nYour choices and your data: %s",
	"mo.stop.category":  "You won't receive %s any more. Your other choices stay as they are. Reply STOP to stop everything.\nYour choices and your data: %s",
	"mo.stop.marketing": "Done: no more promotions. You'll still get the messages about your orders. Reply STOP to stop everything.",
	"mo.confirmed":      "Confirmed! You're now subscribed to %s from %s. Reply STOP at any time to unsubscribe.",
	"mo.help":           "%s on WhatsApp: reply STOP to unsubscribe from everything, STOP followed by a topic to stop just that, START to subscribe again. To reach a person: %s\nYour choices and your data: %s",
	"mo.fallback":       "Thanks for your message! %s can't answer chats here yet. To reach a person: %s",

	// The preference center /p/{token}. prefs.wording is stored as evidence
	// when a person ticks a category again: change it only on purpose, in
	// every language at once.
	"prefs.title":              "Your messages from %s",
	"prefs.intro":              "Choose which WhatsApp messages %s may send you. Untick a box and save to stop that kind of message.",
	"prefs.legend":             "Kinds of message",
	"prefs.state.opted_in":     "Subscribed",
	"prefs.state.opted_out":    "Unsubscribed",
	"prefs.state.pending":      "Waiting for your confirmation",
	"prefs.state.none":         "Not subscribed",
	"prefs.state.since":        "%s since %s",
	"prefs.none.hint":          "You haven't signed up for these. To get them, use our sign-up form.",
	"prefs.wording":            "I agree that %s may send me the ticked kinds of messages on WhatsApp. I can change my choice on this page or stop at any time by replying STOP.",
	"prefs.save":               "Save my choices",
	"prefs.done.saved":         "Your choices are saved.",
	"prefs.done.unchanged":     "Nothing changed: your choices were already like this.",
	"prefs.done.stopped":       "You're unsubscribed from everything. We won't send you any more messages.",
	"prefs.done.rotated":       "This is your new link. Older links no longer work, so bookmark this page if you want to come back.",
	"prefs.more":               "More options",
	"prefs.stop.body":          "Stop all messages from %s at once.",
	"prefs.stop.button":        "Unsubscribe from everything",
	"prefs.download.body":      "Get a copy of what we keep about you: your number, your choices with their history, and the messages we've exchanged (a JSON file).",
	"prefs.download.button":    "Download my data",
	"prefs.rotate.body":        "Shared this link by mistake? Get a new one: every older link stops working.",
	"prefs.rotate.button":      "Get a new link",
	"prefs.erase.body":         "Delete your number, your choices and our messages with you.",
	"prefs.erase.button":       "Delete my data",
	"prefs.link.note":          "This page is personal: anyone with its link can change your choices. Reply HELP to us on WhatsApp to get a fresh link at any time.",
	"prefs.erase.title":        "Delete all your data?",
	"prefs.erase.confirm.body": "We'll delete your number, your choices and the messages you've exchanged with %s, and you won't get any more messages from us. We keep only a record that a deletion took place, without your number. This can't be undone.",
	"prefs.erase.confirm":      "Yes, delete my data",
	"prefs.erase.cancel":       "No, keep my data",
	"prefs.erased.title":       "Your data is deleted",
	"prefs.erased.body":        "We've deleted your number, your choices and our messages with you. If you write to %s on WhatsApp again, we'll ask for your consent first, as with anyone new.",
	"prefs.date":               "%d %s %d",
	"prefs.months":             "January,February,March,April,May,June,July,August,September,October,November,December",
}
