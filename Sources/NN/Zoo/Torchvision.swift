import Foundation
import Tensor

/// torchvision's classifiers, with its `state_dict` keys, shapes and registration order, so a site's
/// `torch.save(model.state_dict())` loads with no model file. Each builder takes the constructor's arguments,
/// so the small configurations of `../shared/golden/graphs` check the same code the full-size names use.
/// Initialisation follows torchvision's `__init__` (kaiming-normal convolutions, unit batch norm).
public enum Torchvision {
    public enum Block: Sendable { case basic, bottleneck }

    /// torchvision's models halve their input up to 5 times (a factor 32); smaller inputs leave no pixel for the last stage.
    static func requireSize(_ name: String, _ size: Int, _ minimum: Int = 32) throws {
        guard size >= minimum else {
            let halvings = Int(log2(Double(minimum)).rounded())
            throw ModelError.shapeMismatch(layer: name, message: "input \(size)x\(size) is too small: \(name) halves its input \(halvings) times "
                                           + "and needs at least \(minimum)x\(minimum) pixels (torchvision's models are made for 224)")
        }
    }

    static func kaimingFanOut(_ cout: Int, _ k: Int) -> Initializer { .normal(mean: 0, std: (2 / Float(cout * k * k)).squareRoot()) }
    static func kaimingFanIn(_ cin: Int, _ k: Int) -> Initializer { .normal(mean: 0, std: (2 / Float(cin * k * k)).squareRoot()) }

    /// `torchvision.models.ResNet`: stem conv 7x7/2 + BN + ReLU + max-pool 3/2 (`cifarStem`: conv 3x3/1, no pool),
    /// stages of BasicBlocks (expansion 1) or Bottlenecks (expansion 4, stride on the 3x3 conv, "v1.5"),
    /// average pool, fc.
    public static func resnet(_ block: Block, _ layers: [Int], name: String, classes: Int, size: Int, channels: Int = 3,
                              stem: Int = 64, widths: [Int] = [64, 128, 256, 512], cifarStem: Bool = false) throws -> Model {
        if !cifarStem { try requireSize(name, size) }
        let b = ModelBuilder()
        var x: GraphValue
        if cifarStem {
            x = b.conv("conv1.", b.input, channels, stem, kernel: 3, stride: 1, padding: 1, bias: false, weightInit: kaimingFanOut(stem, 3))
        } else {
            x = b.conv("conv1.", b.input, channels, stem, kernel: 7, stride: 2, padding: 3, bias: false, weightInit: kaimingFanOut(stem, 7))
        }
        x = b.apply(.relu, b.batchNorm("bn1.", x, stem), name: "relu")
        if !cifarStem { x = b.pool(.max, x, kernel: 3, stride: 2, padding: 1, name: "maxpool") }
        let expansion = block == .basic ? 1 : 4
        var inplanes = stem
        for (li, (planes, count)) in zip(widths, layers).enumerated() {
            for bi in 0..<count {
                let stride = (li > 0 && bi == 0) ? 2 : 1
                let p = "layer\(li + 1).\(bi)."
                var y: GraphValue
                switch block {
                case .basic:
                    y = b.conv(p + "conv1.", x, inplanes, planes, kernel: 3, stride: stride, padding: 1, bias: false, weightInit: kaimingFanOut(planes, 3))
                    y = b.apply(.relu, b.batchNorm(p + "bn1.", y, planes))
                    y = b.conv(p + "conv2.", y, planes, planes, kernel: 3, padding: 1, bias: false, weightInit: kaimingFanOut(planes, 3))
                    y = b.batchNorm(p + "bn2.", y, planes)
                case .bottleneck:
                    y = b.conv(p + "conv1.", x, inplanes, planes, kernel: 1, bias: false, weightInit: kaimingFanOut(planes, 1))
                    y = b.apply(.relu, b.batchNorm(p + "bn1.", y, planes))
                    y = b.conv(p + "conv2.", y, planes, planes, kernel: 3, stride: stride, padding: 1, bias: false, weightInit: kaimingFanOut(planes, 3))
                    y = b.apply(.relu, b.batchNorm(p + "bn2.", y, planes))
                    y = b.conv(p + "conv3.", y, planes, planes * 4, kernel: 1, bias: false, weightInit: kaimingFanOut(planes * 4, 1))
                    y = b.batchNorm(p + "bn3.", y, planes * 4)
                }
                var shortcut = x
                if stride != 1 || inplanes != planes * expansion {
                    shortcut = b.conv(p + "downsample.0.", x, inplanes, planes * expansion, kernel: 1, stride: stride, bias: false,
                                      weightInit: kaimingFanOut(planes * expansion, 1))
                    shortcut = b.batchNorm(p + "downsample.1.", shortcut, planes * expansion)
                }
                x = b.apply(.relu, b.add(y, shortcut, name: p + "add"), name: p + "relu")
                inplanes = planes * expansion
            }
        }
        x = b.flatten(b.adaptiveAvgPool(x, name: "avgpool"))
        x = b.linear("fc.", x, inplanes, classes)
        return try b.build(name: name, inputShape: [channels, size, size], classes: classes, output: x)
    }

    /// `torchvision.models.DenseNet`: conv0 7x7/2, norm0, relu0, pool0; dense blocks (each layer: BN, ReLU,
    /// 1x1 conv to bn_size * growth, BN, ReLU, 3x3 conv to growth, its output concatenated after its input);
    /// transitions (BN, ReLU, 1x1 conv halving the channels, avg-pool 2/2); norm5, ReLU, average pool, classifier.
    public static func densenet(growth: Int, blocks: [Int], initFeatures: Int, bnSize: Int, name: String, classes: Int,
                                size: Int, channels: Int = 3) throws -> Model {
        try requireSize(name, size, 4 << (blocks.count - 1))
        let b = ModelBuilder()
        var x = b.conv("features.conv0.", b.input, channels, initFeatures, kernel: 7, stride: 2, padding: 3, bias: false,
                       weightInit: kaimingFanIn(channels, 7))
        x = b.apply(.relu, b.batchNorm("features.norm0.", x, initFeatures), name: "features.relu0")
        x = b.pool(.max, x, kernel: 3, stride: 2, padding: 1, name: "features.pool0")
        var features = initFeatures
        for (i, layers) in blocks.enumerated() {
            var parts = [x]
            for l in 0..<layers {
                let p = "features.denseblock\(i + 1).denselayer\(l + 1)."
                let cin = features + l * growth
                let joined = parts.count == 1 ? parts[0] : b.concat(parts, axis: 1, name: p + "cat")
                var y = b.apply(.relu, b.batchNorm(p + "norm1.", joined, cin))
                y = b.conv(p + "conv1.", y, cin, bnSize * growth, kernel: 1, bias: false, weightInit: kaimingFanIn(cin, 1))
                y = b.apply(.relu, b.batchNorm(p + "norm2.", y, bnSize * growth))
                y = b.conv(p + "conv2.", y, bnSize * growth, growth, kernel: 3, padding: 1, bias: false, weightInit: kaimingFanIn(bnSize * growth, 3))
                parts.append(y)
            }
            x = b.concat(parts, axis: 1, name: "features.denseblock\(i + 1)")
            features += layers * growth
            if i != blocks.count - 1 {
                let p = "features.transition\(i + 1)."
                var y = b.apply(.relu, b.batchNorm(p + "norm.", x, features))
                y = b.conv(p + "conv.", y, features, features / 2, kernel: 1, bias: false, weightInit: kaimingFanIn(features, 1))
                x = b.pool(.average, y, kernel: 2, stride: 2, name: p + "pool")
                features /= 2
            }
        }
        x = b.apply(.relu, b.batchNorm("features.norm5.", x, features))
        x = b.flatten(b.adaptiveAvgPool(x))
        x = b.linear("classifier.", x, features, classes, biasInit: .constant(0))
        return try b.build(name: name, inputShape: [channels, size, size], classes: classes, output: x)
    }

    /// torchvision's `_make_divisible`: the nearest multiple of `divisor`, never 10% below `v`.
    static func divisible(_ v: Double, _ divisor: Int = 8) -> Int {
        var n = max(divisor, Int(v + Double(divisor) / 2) / divisor * divisor)
        if Double(n) < 0.9 * v { n += divisor }
        return n
    }

    /// Conv2dNormActivation: conv (no bias), BN, then the activation (none for a projection).
    static func convBN(_ b: ModelBuilder, _ p: String, _ x: GraphValue, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1,
                       groups: Int = 1, activation: UnaryFunction?, eps: Float = 1e-5) -> GraphValue {
        var y = b.conv(p + "0.", x, cin, cout, kernel: kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false,
                       weightInit: kaimingFanOut(cout / groups * groups, kernel))
        y = b.batchNorm(p + "1.", y, cout, eps: eps)
        return activation.map { b.apply($0, y, name: p + "2") } ?? y
    }

    /// `torchvision.models.MobileNetV2(num_classes, width_mult, inverted_residual_setting)`: rows (t, c, n, s).
    public static func mobilenetV2(name: String, classes: Int, size: Int, channels: Int = 3, widthMult: Double = 1,
                                   setting: [[Int]] = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                                                       [6, 160, 3, 2], [6, 320, 1, 1]]) throws -> Model {
        try requireSize(name, size, 1 << (1 + setting.filter { $0[3] == 2 }.count))
        let b = ModelBuilder()
        let relu6 = UnaryFunction.clip(0, 6)
        var cin = divisible(32 * widthMult)
        let last = divisible(1280 * max(1, widthMult))
        var x = convBN(b, "features.0.", b.input, channels, cin, kernel: 3, stride: 2, activation: relu6)
        var index = 1
        for row in setting {
            let (t, c, n, s) = (row[0], row[1], row[2], row[3])
            let cout = divisible(Double(c) * widthMult)
            for i in 0..<n {
                let stride = i == 0 ? s : 1
                let p = "features.\(index).conv."
                let hidden = Int((Double(cin) * Double(t)).rounded())
                var y = x, k = 0
                if t != 1 { y = convBN(b, p + "0.", y, cin, hidden, kernel: 1, activation: relu6); k = 1 }
                y = convBN(b, p + "\(k).", y, hidden, hidden, kernel: 3, stride: stride, groups: hidden, activation: relu6)
                y = b.conv(p + "\(k + 1).", y, hidden, cout, kernel: 1, bias: false, weightInit: kaimingFanOut(cout, 1))
                y = b.batchNorm(p + "\(k + 2).", y, cout)
                x = stride == 1 && cin == cout ? b.add(x, y, name: "features.\(index).add") : y
                cin = cout
                index += 1
            }
        }
        x = convBN(b, "features.\(index).", x, cin, last, kernel: 1, activation: relu6)
        x = b.flatten(b.adaptiveAvgPool(x))
        x = b.apply(.dropout, x, name: "classifier.0")
        x = b.linear("classifier.1.", x, last, classes, weightInit: .normal(mean: 0, std: 0.01), biasInit: .constant(0))
        return try b.build(name: name, inputShape: [channels, size, size], classes: classes, output: x)
    }

    /// One row of EfficientNet's `MBConvConfig(expand_ratio, kernel, stride, input_channels, out_channels, num_layers)`.
    public struct MBConv: Sendable {
        public let expand: Int, kernel: Int, stride: Int, input: Int, output: Int, layers: Int
        public init(_ expand: Int, _ kernel: Int, _ stride: Int, _ input: Int, _ output: Int, _ layers: Int) {
            self.expand = expand; self.kernel = kernel; self.stride = stride; self.input = input; self.output = output; self.layers = layers
        }
    }

    /// `torchvision.models.EfficientNet(setting, dropout, last_channel)` (width and depth multipliers 1): stem
    /// conv 3x3/2 + BN + SiLU; MBConv blocks (1x1 expansion, depthwise kxk, squeeze-excitation with SiLU and a
    /// sigmoid gate, 1x1 projection, residual when the shape allows; stochastic depth is identity when
    /// updates are computed); 1x1 head conv; average pool; classifier.
    public static func efficientnet(_ setting: [MBConv], lastChannel: Int?, name: String, classes: Int, size: Int, channels: Int = 3) throws -> Model {
        try requireSize(name, size, 1 << (1 + setting.filter { $0.stride == 2 }.count))
        let b = ModelBuilder()
        var x = convBN(b, "features.0.", b.input, channels, setting[0].input, kernel: 3, stride: 2, activation: .silu)
        for (si, row) in setting.enumerated() {
            for li in 0..<row.layers {
                let cin = li == 0 ? row.input : row.output, stride = li == 0 ? row.stride : 1
                let p = "features.\(si + 1).\(li).block."
                let expanded = divisible(Double(cin * row.expand))
                var y = x, k = 0
                if expanded != cin { y = convBN(b, p + "0.", y, cin, expanded, kernel: 1, activation: .silu); k = 1 }
                y = convBN(b, p + "\(k).", y, expanded, expanded, kernel: row.kernel, stride: stride, groups: expanded, activation: .silu)
                // Squeeze-excitation: scale = sigmoid(fc2(silu(fc1(avgpool(y))))); y * scale.
                let squeeze = max(1, cin / 4), se = p + "\(k + 1)."
                var s = b.adaptiveAvgPool(y, name: se + "avgpool")
                s = b.apply(.silu, b.conv(se + "fc1.", s, expanded, squeeze, kernel: 1, weightInit: kaimingFanOut(squeeze, 1), biasInit: .constant(0)))
                s = b.apply(.sigmoid, b.conv(se + "fc2.", s, squeeze, expanded, kernel: 1, weightInit: kaimingFanOut(expanded, 1), biasInit: .constant(0)))
                y = b.mul(s, y, name: se + "scale")
                y = convBN(b, p + "\(k + 2).", y, expanded, row.output, kernel: 1, activation: nil)
                x = stride == 1 && cin == row.output ? b.add(y, x, name: "features.\(si + 1).\(li).add") : y
            }
        }
        let headIn = setting.last!.output, head = lastChannel ?? 4 * headIn
        x = convBN(b, "features.\(setting.count + 1).", x, headIn, head, kernel: 1, activation: .silu)
        x = b.flatten(b.adaptiveAvgPool(x, name: "avgpool"))
        x = b.apply(.dropout, x, name: "classifier.0")
        let r = 1 / Float(classes).squareRoot()
        x = b.linear("classifier.1.", x, head, classes, weightInit: .uniform(-r, r), biasInit: .constant(0))
        return try b.build(name: name, inputShape: [channels, size, size], classes: classes, output: x)
    }

    public static func efficientnetB0(name: String, classes: Int, size: Int, channels: Int = 3) throws -> Model {
        try efficientnet([MBConv(1, 3, 1, 32, 16, 1), MBConv(6, 3, 2, 16, 24, 2), MBConv(6, 5, 2, 24, 40, 2), MBConv(6, 3, 2, 40, 80, 3),
                          MBConv(6, 5, 1, 80, 112, 3), MBConv(6, 5, 2, 112, 192, 4), MBConv(6, 3, 1, 192, 320, 1)],
                         lastChannel: nil, name: name, classes: classes, size: size, channels: channels)
    }
}
