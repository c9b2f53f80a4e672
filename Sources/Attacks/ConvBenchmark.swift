import Foundation
import Tensor

/// One convolution layer shape timed in each of its three passes: forward (im2col + sgemm), the input
/// gradient (sgemm + col2im) and the weight gradient (sgemm against the columns), the products an attack
/// iteration runs at every layer (its double backward repeats them).
public struct ConvTiming: Codable, Sendable {
    /// e.g. "3x3/1 64->64 @56" (kernel/stride, channels, input side).
    public let layer: String
    /// The models it occurs in at 224 px.
    public let models: [String]
    /// forward, inputGradient or weightGradient.
    public let pass: String
    public let threads: Int
    public let medianMs: Double
    public let gflops: Double
    /// GFLOP/s against threads x the one-thread sgemm rate of the same run.
    public var percentOfSgemm: Double? = nil
}

extension Benchmark {
    /// The distinct 3x3 and 1x1 convolutions (and the 7x7 stem) of torchvision's ResNet-18 and ResNet-50 at
    /// 224 px, batch 1: (kernel, stride, in, out, input side, models).
    public static let resnetConvShapes: [(k: Int, s: Int, cin: Int, cout: Int, hw: Int, models: [String])] = [
        (7, 2, 3, 64, 224, ["resnet18", "resnet50"]),
        (3, 1, 64, 64, 56, ["resnet18", "resnet50"]), (3, 2, 64, 128, 56, ["resnet18"]), (3, 1, 128, 128, 28, ["resnet18", "resnet50"]),
        (3, 2, 128, 256, 28, ["resnet18"]), (3, 1, 256, 256, 14, ["resnet18", "resnet50"]), (3, 2, 256, 512, 14, ["resnet18"]),
        (3, 1, 512, 512, 7, ["resnet18", "resnet50"]), (3, 2, 128, 128, 56, ["resnet50"]), (3, 2, 256, 256, 28, ["resnet50"]),
        (3, 2, 512, 512, 14, ["resnet50"]),
        (1, 2, 64, 128, 56, ["resnet18"]), (1, 2, 128, 256, 28, ["resnet18"]), (1, 2, 256, 512, 14, ["resnet18"]),
        (1, 1, 64, 64, 56, ["resnet50"]), (1, 1, 64, 256, 56, ["resnet50"]), (1, 1, 256, 64, 56, ["resnet50"]),
        (1, 1, 256, 128, 56, ["resnet50"]), (1, 2, 256, 512, 56, ["resnet50"]), (1, 1, 128, 512, 28, ["resnet50"]),
        (1, 1, 512, 128, 28, ["resnet50"]), (1, 1, 512, 256, 28, ["resnet50"]), (1, 2, 512, 1024, 28, ["resnet50"]),
        (1, 1, 256, 1024, 14, ["resnet50"]), (1, 1, 1024, 256, 14, ["resnet50"]), (1, 1, 1024, 512, 14, ["resnet50"]),
        (1, 2, 1024, 2048, 14, ["resnet50"]), (1, 1, 512, 2048, 7, ["resnet50"]), (1, 1, 2048, 512, 7, ["resnet50"]),
    ]

    /// Times every shape of `resnetConvShapes` in its three passes at `threads` op threads (median of `reps`).
    public static func convLayers(threads: Int, reps: Int, sgemm: Double) -> [ConvTiming] {
        var rng = SeededGenerator(seed: 21)
        var rows: [ConvTiming] = []
        for c in resnetConvShapes {
            let pad = c.k / 2
            let x = Tensor.uniform([1, c.cin, c.hw, c.hw], using: &rng)
            let w = Tensor.randn([c.cout, c.cin, c.k, c.k], using: &rng)
            let g = Conv2dGeometry(kernel: c.k, stride: c.s, padding: pad)
            let (ho, wo) = g.outputSize(c.hw, c.hw)
            let macs = Double(c.cout * c.cin * c.k * c.k * ho * wo)
            let cols = x.im2col(g)
            let gy = Tensor.randn([c.cout, ho * wo], using: &rng)
            let w2 = w.reshaped([c.cout, c.cin * c.k * c.k])
            let passes: [(String, () -> Void)] = [
                ("forward", { _ = conv2d(x, weight: w, stride: c.s, padding: pad) }),
                ("inputGradient", { _ = matmul(w2, gy, transposeA: true).col2im([1, c.cin, c.hw, c.hw], g) }),
                ("weightGradient", { _ = matmul(gy, cols, transposeB: true) }),
            ]
            let name = "\(c.k)x\(c.k)/\(c.s) \(c.cin)->\(c.cout) @\(c.hw)"
            for (pass, body) in passes {
                var times: [Double] = []
                OpThreads.with(threads: threads) {
                    body()
                    for _ in 0..<reps {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        body()
                        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                    }
                }
                let median = times.sorted()[times.count / 2]
                let gflops = 2 * macs / (median / 1e3) / 1e9
                rows.append(ConvTiming(layer: name, models: c.models, pass: pass, threads: threads, medianMs: median, gflops: gflops,
                                       percentOfSgemm: 100 * gflops / (sgemm * Double(threads))))
            }
        }
        return rows
    }
}
