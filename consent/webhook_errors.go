package consent

import "context"

// handleProviderErrors raises an alert for the template and account errors
// a webhook reported outside any status (a Cloud API value's "errors"), as
// the dispatcher does for the same errors at send time: admins must fix a
// template or the account before messages flow again. Other errors concern
// no one message optin can act on and are only kept in the inbox.
func (s *Service) handleProviderErrors(ctx context.Context, errs []ProviderErrorDetail) error {
	for _, e := range errs {
		switch class := ClassifyCode(e.Code); class {
		case ErrTemplate, ErrAccount:
			if err := s.store.AddAlert(ctx, Alert{Kind: string(class), Code: e.Code, Title: e.Title, At: s.clock.Now()}); err != nil {
				return err
			}
		}
	}
	return nil
}
