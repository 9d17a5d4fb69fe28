package views

import (
	"fmt"
	"strconv"
)

// ChartDay is one day of the opt-in chart.
type ChartDay struct {
	Date    string // 2026-11-01, for the table and the bars' titles
	Label   string // "Nov 1", under the axis
	OptIns  int64
	OptOuts int64
}

// ChartModel is a bar chart of opt-ins and opt-outs per day, drawn as SVG on
// the server. The table beside it (DayTable) says the same in text.
type ChartModel struct {
	ID    string // prefix of the ids of <title> and <desc>
	Title string
	Days  []ChartDay
}

// Geometry of the chart, in viewBox units.
const (
	chartW      = 720
	chartH      = 240
	chartLeft   = 44 // room for the y labels
	chartRight  = 8
	chartTop    = 12
	chartBottom = 28 // room for the x labels
)

// chartBar is one rectangle with its tooltip.
type chartBar struct {
	X, Y, W, H string
	Class      string
	Title      string
}

// chartTick is a horizontal grid line with its value, or a label under the axis.
type chartTick struct {
	X, Y   string
	Label  string
	Anchor string // text-anchor of a label under the axis
}

type chartGeometry struct {
	Bars    []chartBar
	YTicks  []chartTick
	XLabels []chartTick
	Left    string
	Right   string
	Base    string // y of the axis
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// chartSteps is how many grid steps the y axis has.
const chartSteps = 4

// niceStep is the y axis' grid step: 1, 2 or 5 times a power of ten, so
// that chartSteps steps reach the largest value and every label is whole.
func niceStep(v int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p*chartSteps >= v {
				return m * p
			}
		}
	}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmtInt(n) + " " + many
}

// geometry lays the bars out: per day an opt-in bar and an opt-out bar side
// by side, a grid of four steps, and a date label every fifth day.
func (m ChartModel) geometry() chartGeometry {
	var g chartGeometry
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBottom)
	base := float64(chartH - chartBottom)
	g.Left, g.Right, g.Base = num(chartLeft), num(chartW-chartRight), num(base)
	var top int64
	for _, d := range m.Days {
		top = max(top, d.OptIns, d.OptOuts)
	}
	step := niceStep(top)
	top = step * chartSteps
	for i := int64(0); i <= chartSteps; i++ {
		v := step * i
		y := base - plotH*float64(v)/float64(top)
		g.YTicks = append(g.YTicks, chartTick{X: num(chartLeft - 6), Y: num(y), Label: strconv.FormatInt(v, 10)})
	}
	if len(m.Days) == 0 {
		return g
	}
	slot := plotW / float64(len(m.Days))
	barW := slot * 0.38
	for i, d := range m.Days {
		x0 := float64(chartLeft) + slot*float64(i) + slot*0.1
		for j, v := range []int64{d.OptIns, d.OptOuts} {
			h := plotH * float64(v) / float64(top)
			if v > 0 && h < 1 {
				h = 1 // a bar for every day that had one
			}
			b := chartBar{X: num(x0 + float64(j)*barW), Y: num(base - h), W: num(barW), H: num(h)}
			if j == 0 {
				b.Class, b.Title = "chart__in", fmt.Sprintf("%s: %s", d.Date, plural(v, "opt-in", "opt-ins"))
			} else {
				b.Class, b.Title = "chart__out", fmt.Sprintf("%s: %s", d.Date, plural(v, "opt-out", "opt-outs"))
			}
			g.Bars = append(g.Bars, b)
		}
		if (len(m.Days)-1-i)%5 == 0 {
			// Centred under its day, but the last ends at the edge so that
			// it is not cut off.
			t := chartTick{X: num(float64(chartLeft) + slot*(float64(i)+0.5)), Y: num(base + 18), Label: d.Label, Anchor: "middle"}
			if i == len(m.Days)-1 {
				t.X, t.Anchor = num(chartW-chartRight), "end"
			}
			g.XLabels = append(g.XLabels, t)
		}
	}
	return g
}

// Summary is the chart's description for screen readers: the totals and
// the busiest day.
func (m ChartModel) Summary() string {
	var in, out int64
	var best ChartDay
	for _, d := range m.Days {
		in += d.OptIns
		out += d.OptOuts
		if d.OptIns > best.OptIns {
			best = d
		}
	}
	s := fmt.Sprintf("Over the last %d days: %s and %s.", len(m.Days), plural(in, "opt-in", "opt-ins"), plural(out, "opt-out", "opt-outs"))
	if best.OptIns > 0 {
		s += fmt.Sprintf(" Most opt-ins on %s (%d).", best.Date, best.OptIns)
	}
	return s
}

func chartViewBox() string { return fmt.Sprintf("0 0 %d %d", chartW, chartH) }
