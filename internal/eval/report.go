package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func num(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3f", *p)
}

func dur(d Duration) string {
	t := time.Duration(d)
	switch {
	case t >= time.Hour:
		return t.Round(time.Minute).String()
	case t >= time.Second:
		return t.Round(time.Second).String()
	}
	return t.Round(time.Millisecond).String()
}

// WriteTable writes the report as an aligned text table.
func (r Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	head := "truth: " + r.Truth
	if r.Scenario != "" {
		head += " (scenario " + r.Scenario + ")"
	}
	fmt.Fprintf(&b, "%s; %d records, %d subjects (%d unscored, %d prefixes, %d too wide); grace %s\n\n",
		head, r.Records, r.Subjects, r.Unscored, r.Prefixes, r.TooWide, time.Duration(r.GraceSecs*float64(time.Second)))
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "role\ttruth\tflagged\ttp\tfp\tfn\tprecision\trecall\tf1\tdelay p50\tdelay p90\tfp bad host\tfp look-alike\t")
	for _, s := range r.Roles {
		p50, p90 := "-", "-"
		if s.Delay != nil {
			p50, p90 = dur(s.Delay.Median), dur(s.Delay.P90)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", s.Role, s.Truth, s.Flagged, s.TP, s.FP, s.FN,
			num(s.Precision), num(s.Recall), num(s.F1), p50, p90, s.FPBad, s.FPLookalike)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if f := r.Flows; f != nil {
		fmt.Fprintf(&b, "\nflows: %d (%d malicious): tp %d, fp %d, fn %d, tn %d; precision %s, recall %s, f1 %s\n",
			f.Flows, f.Malicious, f.TP, f.FP, f.FN, f.TN, num(f.Precision), num(f.Recall), num(f.F1))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
