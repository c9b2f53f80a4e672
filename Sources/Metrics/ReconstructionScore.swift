import Foundation
import Tensor

/// How well one reconstruction matches its original.
///
/// Codable for audit logs and reports. A PSNR of `+infinity` (identical images) is encoded as `null`
/// and decoded back to `+infinity`, so the default `JSONEncoder` never fails on it.
public struct ReconstructionScore: Codable, Sendable, Equatable {
    /// Mean squared error on [0, 1] values.
    public var mse: Double
    /// Peak signal-to-noise ratio in dB (`+infinity` for identical images).
    public var psnr: Double
    /// Gaussian-window SSIM (see `ssim`).
    public var ssim: Double
    /// Whether the attack counts as successful on this image (`ssim >= threshold`).
    public var success: Bool

    public init(mse: Double, psnr: Double, ssim: Double, success: Bool) {
        self.mse = mse
        self.psnr = psnr
        self.ssim = ssim
        self.success = success
    }

    enum CodingKeys: String, CodingKey { case mse, psnr, ssim, success }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mse = try c.decode(Double.self, forKey: .mse)
        psnr = try c.decodeIfPresent(Double.self, forKey: .psnr) ?? .infinity
        ssim = try c.decode(Double.self, forKey: .ssim)
        success = try c.decode(Bool.self, forKey: .success)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mse, forKey: .mse)
        if psnr.isFinite { try c.encode(psnr, forKey: .psnr) } else { try c.encodeNil(forKey: .psnr) }
        try c.encode(ssim, forKey: .ssim)
        try c.encode(success, forKey: .success)
    }
}

/// The SSIM at or above which a reconstruction counts as a successful attack (the anchors' 0.9).
public let defaultSuccessThreshold = 0.9

/// Scores a reconstruction (`candidate`) against the original (`reference`): MSE, PSNR and Gaussian
/// SSIM after clamping both to [0, 1]; `success` is `ssim >= threshold`.
public func score(reference: [Float], candidate: [Float], channels: Int, height: Int, width: Int,
                  threshold: Double = defaultSuccessThreshold) -> ReconstructionScore {
    let e = mse(reference, candidate)
    let s = ssim(reference, candidate, channels: channels, height: height, width: width)
    return ReconstructionScore(mse: e, psnr: psnr(mse: e), ssim: s, success: s >= threshold)
}

/// Scores two image tensors (`[C,H,W]` or `[1,C,H,W]`, same shape); see `score(reference:candidate:channels:height:width:threshold:)`.
public func score(reference: Tensor, candidate: Tensor, threshold: Double = defaultSuccessThreshold) -> ReconstructionScore {
    let (r, c, s) = imagePair(reference, candidate)
    return score(reference: r, candidate: c, channels: s.channels, height: s.height, width: s.width,
                 threshold: threshold)
}

/// Attack success rate: the fraction of scores marked successful (0 for an empty list).
public func attackSuccessRate(_ scores: [ReconstructionScore]) -> Double {
    scores.isEmpty ? 0 : Double(scores.filter(\.success).count) / Double(scores.count)
}
