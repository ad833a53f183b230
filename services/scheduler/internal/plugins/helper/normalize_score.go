package helper

import "github.com/gantry-dev/gantry/services/scheduler/framework"

// DefaultNormalizeScore is Kubernetes' helper of the same name: it scales
// scores linearly, with integer division, so that the highest becomes
// maxPriority, then, when reverse is set, subtracts each from
// maxPriority. When no score is above 0 they are left alone, or all set
// to maxPriority when reversed.
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores []framework.NodeScore) {
	var highest int64
	for _, s := range scores {
		highest = max(highest, s.Score)
	}
	for i := range scores {
		switch {
		case highest == 0 && reverse:
			scores[i].Score = maxPriority
		case highest == 0:
		case reverse:
			scores[i].Score = maxPriority - maxPriority*scores[i].Score/highest
		default:
			scores[i].Score = maxPriority * scores[i].Score / highest
		}
	}
}
