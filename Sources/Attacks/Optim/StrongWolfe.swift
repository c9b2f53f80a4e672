import Foundation

/// Result of one strong-Wolfe line search: the accepted point's loss and gradient, the step `t`
/// along `d`, and the number of objective evaluations it used.
struct LineSearchResult<Scalar: BinaryFloatingPoint> {
    var loss: Double
    var gradient: [Scalar]
    var t: Double
    var evaluations: Int
}

/// Minimiser of the cubic interpolating (x1, f1, g1) and (x2, f2, g2), clamped to `bounds`
/// (default: the interval between x1 and x2); the bounds' midpoint when the cubic has no minimum.
/// A line-for-line port of torch's `_cubic_interpolate` (from torch/optim's polyinterp.lua).
func cubicInterpolate(_ x1: Double, _ f1: Double, _ g1: Double,
                      _ x2: Double, _ f2: Double, _ g2: Double,
                      bounds: (Double, Double)? = nil) -> Double {
    let (xminBound, xmaxBound): (Double, Double) = bounds ?? (x1 <= x2 ? (x1, x2) : (x2, x1))
    let d1: Double = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    let d2Square: Double = d1 * d1 - g1 * g2
    if d2Square >= 0 {
        let d2 = d2Square.squareRoot()
        let minPos: Double
        if x1 <= x2 {
            minPos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        } else {
            minPos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        }
        return OptimKernels.pyMin(OptimKernels.pyMax(minPos, xminBound), xmaxBound)
    } else {
        return (xminBound + xmaxBound) / 2.0
    }
}

extension LBFGS {
    /// torch's `_strong_wolfe` (from torch/optim's lswolfe.lua), line for line: find `t` along `d`
    /// from `x` (loss `f`, gradient `g`, directional derivative `gtd`) satisfying
    /// `f(x + t d) <= f + c1 t gtd` and `|g(x + t d)·d| <= -c2 gtd`, first bracketing, then zooming.
    /// Returns `nil` as soon as an evaluation is not finite.
    func strongWolfe(_ objective: OptimizerObjective<Scalar>, x: [Scalar], t tInitial: Double, d: [Scalar],
                     f: Double, g: [Scalar], gtd: Double, c1: Double = 1e-4, c2: Double = 0.9,
                     maxLS: Int = 25) rethrows -> LineSearchResult<Scalar>? {
        let toleranceChange = options.toleranceChange
        let dNorm = OptimKernels.absMax(d)
        var t = tInitial
        guard var (fNew, gNew) = try evaluate(objective, at: OptimKernels.moved(x, by: t, along: d)) else {
            return nil
        }
        var lsFuncEvals = 1
        var gtdNew = OptimKernels.dot(gNew, d)

        // Bracket an interval containing a point satisfying the Wolfe criteria.
        var tPrev = 0.0, fPrev = f, gPrev = g, gtdPrev = gtd
        var done = false
        var lsIter = 0
        var bracket: [Double] = [], bracketF: [Double] = [], bracketGtd: [Double] = []
        var bracketG: [[Scalar]] = []
        while lsIter < maxLS {
            if fNew > (f + c1 * t * gtd) || (lsIter > 1 && fNew >= fPrev) {
                bracket = [tPrev, t]; bracketF = [fPrev, fNew]
                bracketG = [gPrev, gNew]; bracketGtd = [gtdPrev, gtdNew]
                break
            }
            if Swift.abs(gtdNew) <= -c2 * gtd {
                bracket = [t]; bracketF = [fNew]; bracketG = [gNew]
                done = true
                break
            }
            if gtdNew >= 0 {
                bracket = [tPrev, t]; bracketF = [fPrev, fNew]
                bracketG = [gPrev, gNew]; bracketGtd = [gtdPrev, gtdNew]
                break
            }
            // Interpolate.
            let minStep = t + 0.01 * (t - tPrev)
            let maxStep = t * 10
            let tmp = t
            t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, bounds: (minStep, maxStep))
            // Next step.
            tPrev = tmp; fPrev = fNew; gPrev = gNew; gtdPrev = gtdNew
            guard let e = try evaluate(objective, at: OptimKernels.moved(x, by: t, along: d)) else { return nil }
            (fNew, gNew) = e
            lsFuncEvals += 1
            gtdNew = OptimKernels.dot(gNew, d)
            lsIter += 1
        }
        // Reached the maximal number of iterations? (torch leaves bracket_gtd unset: the zoom is skipped.)
        if lsIter == maxLS {
            bracket = [0, t]; bracketF = [f, fNew]; bracketG = [g, gNew]
        }

        // Zoom: refine the bracket until a point satisfies the criteria.
        var insufProgress = false
        var (lowPos, highPos) = bracketF[0] <= bracketF[bracketF.count - 1] ? (0, 1) : (1, 0)
        while !done && lsIter < maxLS {
            // The bracket is too small.
            if Swift.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange { break }

            t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1])

            // Too close to a bracket end (twice in a row, or outside): move 10% of the bracket inside.
            let bMax = OptimKernels.pyMax(bracket[0], bracket[1])
            let bMin = OptimKernels.pyMin(bracket[0], bracket[1])
            let eps = 0.1 * (bMax - bMin)
            if OptimKernels.pyMin(bMax - t, t - bMin) < eps {
                if insufProgress || t >= bMax || t <= bMin {
                    t = Swift.abs(t - bMax) < Swift.abs(t - bMin) ? bMax - eps : bMin + eps
                    insufProgress = false
                } else {
                    insufProgress = true
                }
            } else {
                insufProgress = false
            }

            guard let e = try evaluate(objective, at: OptimKernels.moved(x, by: t, along: d)) else { return nil }
            (fNew, gNew) = e
            lsFuncEvals += 1
            gtdNew = OptimKernels.dot(gNew, d)
            lsIter += 1

            if fNew > (f + c1 * t * gtd) || fNew >= bracketF[lowPos] {
                // Armijo condition not satisfied or not lower than the lowest point.
                bracket[highPos] = t; bracketF[highPos] = fNew
                bracketG[highPos] = gNew; bracketGtd[highPos] = gtdNew
                (lowPos, highPos) = bracketF[0] <= bracketF[1] ? (0, 1) : (1, 0)
            } else {
                if Swift.abs(gtdNew) <= -c2 * gtd {
                    done = true  // Wolfe conditions satisfied.
                } else if gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0 {
                    // The old high becomes the new low.
                    bracket[highPos] = bracket[lowPos]; bracketF[highPos] = bracketF[lowPos]
                    bracketG[highPos] = bracketG[lowPos]; bracketGtd[highPos] = bracketGtd[lowPos]
                }
                // The new point becomes the new low.
                bracket[lowPos] = t; bracketF[lowPos] = fNew
                bracketG[lowPos] = gNew; bracketGtd[lowPos] = gtdNew
            }
        }
        return LineSearchResult(loss: bracketF[lowPos], gradient: bracketG[lowPos], t: bracket[lowPos],
                                evaluations: lsFuncEvals)
    }
}
