package web

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// chart is an inline SVG line or bar chart laid out in Go, so that the
// template only writes numbers into attributes.
type chart struct {
	Width, Height int
	// Line is a polyline's points ("x,y x,y …"); empty for bar charts.
	Line string
	Dots []chartDot
	Bars []chartBar
	// YLabels are the gridlines' labels.
	YLabels []chartLabel
	// Base is the y of the x axis (the zero line of a bar chart).
	Base float64
	// XLabels name the x axis's ends: the first and last point's time.
	XLabels []chartXLabel
	// Caption says what the chart shows, for screen readers and tooltips.
	Caption string
}

type chartDot struct {
	X, Y  float64
	Class string
	Title string
	URL   string
}

type chartBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
	URL        string
}

type chartLabel struct {
	Y    float64
	Text string
}

type chartXLabel struct {
	X      float64
	Text   string
	Anchor string
}

// chart margins: room for the y labels on the left.
const (
	chartLeft   = 40.0
	chartRight  = 10.0
	chartTop    = 8.0
	chartBottom = 22.0
)

// point is one value of a chart, oldest first.
type point struct {
	V float64
	// Time is when the value was taken: the x axis's labels.
	Time  time.Time
	Class string
	Title string
	URL   string
}

// lineChart plots values in [0, 1] (rates) as a line with dots.
func lineChart(pts []point, width, height int, caption string) chart {
	c := chart{Width: width, Height: height, Caption: caption}
	w := float64(width) - chartLeft - chartRight
	h := float64(height) - chartTop - chartBottom
	for _, v := range []float64{0, 0.5, 1} {
		c.YLabels = append(c.YLabels, chartLabel{Y: chartTop + h*(1-v), Text: fmt.Sprintf("%.0f%%", v*100)})
	}
	var line []string
	for i, p := range pts {
		x := chartLeft + w/2
		if len(pts) > 1 {
			x = chartLeft + w*float64(i)/float64(len(pts)-1)
		}
		y := chartTop + h*(1-math.Max(0, math.Min(1, p.V)))
		line = append(line, fmt.Sprintf("%.1f,%.1f", x, y))
		c.Dots = append(c.Dots, chartDot{X: round1(x), Y: round1(y), Class: p.Class, Title: p.Title, URL: p.URL})
	}
	c.Line = strings.Join(line, " ")
	c.xAxis(pts)
	return c
}

// barChart plots non-negative values (durations) as bars, scaled to the
// largest.
func barChart(pts []point, width, height int, caption string, unit func(float64) string) chart {
	c := chart{Width: width, Height: height, Caption: caption}
	w := float64(width) - chartLeft - chartRight
	h := float64(height) - chartTop - chartBottom
	top := 0.0
	for _, p := range pts {
		top = math.Max(top, p.V)
	}
	if top > 0 {
		c.YLabels = []chartLabel{{Y: chartTop, Text: unit(top)}, {Y: chartTop + h/2, Text: unit(top / 2)}}
	} else {
		top = 1 // every value is 0: only the zero line is labelled
	}
	c.YLabels = append(c.YLabels, chartLabel{Y: chartTop + h, Text: "0"})
	c.xAxis(pts)
	if len(pts) == 0 {
		return c
	}
	slot := w / float64(len(pts))
	bw := math.Max(1, slot*0.75)
	for i, p := range pts {
		if p.V <= 0 {
			// Nothing to draw above the baseline: a dot on it says the
			// run was there.
			c.Dots = append(c.Dots, chartDot{X: round1(chartLeft + slot*float64(i) + slot/2), Y: round1(chartTop + h), Class: p.Class, Title: p.Title, URL: p.URL})
			continue
		}
		bh := math.Max(1, h*p.V/top)
		c.Bars = append(c.Bars, chartBar{
			X: round1(chartLeft + slot*float64(i) + (slot-bw)/2), Y: round1(chartTop + h - bh),
			W: round1(bw), H: round1(bh), Class: p.Class, Title: p.Title, URL: p.URL,
		})
	}
	return c
}

// xAxis sets the baseline and labels the x axis's ends with the first and
// last point's time (one label when they are the same).
func (c *chart) xAxis(pts []point) {
	c.Base = float64(c.Height) - chartBottom
	if len(pts) == 0 {
		return
	}
	first, last := pts[0].Time.UTC(), pts[len(pts)-1].Time.UTC()
	if first.IsZero() {
		return
	}
	// The coarsest layout that tells the ends apart.
	layout := "Jan 2 15:04"
	if last.Sub(first) < time.Minute {
		layout = "Jan 2 15:04:05"
	}
	c.XLabels = []chartXLabel{{X: chartLeft, Text: first.Format(layout) + " UTC", Anchor: "start"}}
	if len(pts) > 1 && last.Format(layout) != first.Format(layout) {
		c.XLabels = append(c.XLabels, chartXLabel{X: float64(c.Width) - chartRight, Text: last.Format(layout) + " UTC", Anchor: "end"})
	}
}

// LabelY is where the x axis's labels sit.
func (c chart) LabelY() float64 { return c.Base + 15 }

func round1(v float64) float64 { return math.Round(v*10) / 10 }
