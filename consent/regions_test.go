package consent

import (
	"slices"
	"testing"
)

func TestPhoneRegions(t *testing.T) {
	t.Parallel()
	if got := PhoneRegions("0151 23456789"); !slices.Contains(got, "DE") || slices.Contains(got, "US") {
		t.Errorf("PhoneRegions(0151 23456789) = %v, want DE among them and not US", got)
	}
	for _, raw := range []string{"+49 151 23456789", "0049 151 23456789", "12", "abc"} {
		if got := PhoneRegions(raw); len(got) != 0 {
			t.Errorf("PhoneRegions(%q) = %v, want none", raw, got)
		}
	}
}
