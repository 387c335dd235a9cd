package collector

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gauge is a prometheus.Metric whose label pairs are built by the caller
// and may be shared between series. A large Connect cluster yields tens of
// thousands of series per scrape that differ in one label (the state of a
// state set); prometheus.MustNewConstMetric would build and sort every
// pair of every series again, which costs more than decoding the REST
// answer does. Pairs must be sorted by name, as the registry expects.
type gauge struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	value  float64
}

func (g *gauge) Desc() *prometheus.Desc { return g.desc }

func (g *gauge) Write(out *dto.Metric) error {
	out.Label = g.labels
	v := g.value
	out.Gauge = &dto.Gauge{Value: &v}
	return nil
}

// pair makes one label pair.
func pair(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: &name, Value: &value}
}

// sortedPairs returns pairs sorted by label name.
func sortedPairs(pairs ...*dto.LabelPair) []*dto.LabelPair {
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
	return pairs
}
