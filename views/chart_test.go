package views

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestNiceStep(t *testing.T) {
	for _, tc := range []struct{ max, want int64 }{
		{0, 1}, {3, 1}, {4, 1}, {5, 2}, {6, 2}, {8, 2}, {9, 5}, {20, 5}, {21, 10}, {399, 100}, {401, 200}, {123456, 50000},
	} {
		if got := niceStep(tc.max); got != tc.want {
			t.Errorf("niceStep(%d) = %d, want %d", tc.max, got, tc.want)
		}
	}
}

func chartOf(days int, f func(i int) (int64, int64)) ChartModel {
	m := ChartModel{ID: "c", Title: "Opt-ins and opt-outs"}
	for i := range days {
		in, out := f(i)
		m.Days = append(m.Days, ChartDay{Date: fmt.Sprintf("2026-11-%02d", i+1), Label: fmt.Sprintf("Nov %d", i+1), OptIns: in, OptOuts: out})
	}
	return m
}

func TestDayChart(t *testing.T) {
	tests := []struct {
		name     string
		m        ChartModel
		want     []string
		wantBars int
	}{
		{"empty", ChartModel{ID: "c", Title: "T"}, []string{`<desc id="c-desc">Over the last 0 days: 0 opt-ins and 0 opt-outs.</desc>`}, 0},
		{"quiet month", chartOf(30, func(int) (int64, int64) { return 0, 0 }),
			[]string{`Over the last 30 days: 0 opt-ins and 0 opt-outs.`, `>4</text>`, `<title>2026-11-30: 0 opt-outs</title>`}, 60},
		{"busy", chartOf(30, func(i int) (int64, int64) { return int64(i * 10), 1 }),
			[]string{`Over the last 30 days: 4,350 opt-ins and 30 opt-outs. Most opt-ins on 2026-11-30 (290).`,
				`>400</text>`, `<title>2026-11-02: 10 opt-ins</title>`, `<title>2026-11-02: 1 opt-out</title>`,
				`text-anchor="end">Nov 30</text>`}, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := DayChart(tc.m).Render(context.Background(), &buf); err != nil {
				t.Fatal(err)
			}
			body := buf.String()
			tc.want = append(tc.want, `role="img"`, `aria-labelledby="c-title c-desc"`, `data-testid="chart"`)
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("chart lacks %s", w)
				}
			}
			if n := strings.Count(body, "<rect "); n != tc.wantBars {
				t.Errorf("%d bars, want %d", n, tc.wantBars)
			}
			// Bars stay inside the plot: no negative or oversized heights.
			if strings.Contains(body, `height="-`) || strings.Contains(body, `y="-`) {
				t.Errorf("a bar leaves the plot")
			}
		})
	}
}
