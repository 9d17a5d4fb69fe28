package consent

import (
	"testing"
	"time"
)

func TestRegretRates(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	anchors := []RegretAnchor{
		{EntryPoint: "POSTER", At: at},                                               // stays
		{EntryPoint: "POSTER", At: at, FirstOut: at.Add(time.Minute)},                // regrets
		{EntryPoint: "POSTER", At: at, FirstOut: at.Add(RegretWindow)},               // regrets, at the edge
		{EntryPoint: "POSTER", At: at, FirstOut: at.Add(RegretWindow + time.Second)}, // too late
		{EntryPoint: "MAIL", At: at},
	}
	got := regretRates(anchors)
	if p := got["POSTER"]; p.OptIns != 4 || p.Regrets != 2 || p.Percent() != 50 {
		t.Errorf("POSTER = %+v (%.1f %%), want 2 of 4, 50 %%", p, p.Percent())
	}
	if m := got["MAIL"]; m.OptIns != 1 || m.Regrets != 0 || m.Percent() != 0 {
		t.Errorf("MAIL = %+v, want 0 of 1", m)
	}
	if (Regret{}).Percent() != 0 {
		t.Errorf("no opt-ins: percent %v, want 0", (Regret{}).Percent())
	}
}

func TestRegretAlarming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    Regret
		want bool
	}{
		{Regret{OptIns: 20, Regrets: 3}, true},   // 15 %
		{Regret{OptIns: 20, Regrets: 2}, false},  // 10 %: not above
		{Regret{OptIns: 10, Regrets: 9}, false},  // too few opt-ins to tell
		{Regret{OptIns: 200, Regrets: 21}, true}, // 10.5 %
	}
	for _, tt := range tests {
		if got := tt.r.Alarming(DefaultRegretThreshold); got != tt.want {
			t.Errorf("%+v Alarming = %v, want %v", tt.r, got, tt.want)
		}
	}
}
