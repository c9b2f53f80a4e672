import Foundation
import RasterCodecs
import SafeIO

/// The axis a NIfTI volume is sliced along: `z` gives axial slices of a volume stored in the usual RAS/LPS order.
public enum SliceAxis: String, Sendable, Equatable, Hashable, CaseIterable {
    case x, y, z
}

/// A NIfTI-1 or NIfTI-2 volume (`.nii`, `.nii.gz`) read by Debian's nifticlib: its first volume (of a 4D series),
/// scaled by `scl_slope`/`scl_inter` when the slope is set, sliced along an axis.
///
/// Slice k along z is the plane of `nx` columns and `ny` rows with voxel (i, j, k) at column i, row j, as stored
/// (nibabel's `data[:, :, k].T`), no reorientation; along y, `nx` x `nz` (`data[:, j, :].T`); along x, `ny` x `nz`
/// (`data[i, :, :].T`). Windowing as for DICOM (`WindowChoice`): `dicom` takes the header's `cal_min..cal_max`
/// display range when set, else the slice's min..max; `auto` its percentiles; an explicit window in the volume's
/// (scaled) units.
public struct NIfTIVolume {
    public let nx: Int, ny: Int, nz: Int, volumes: Int
    public let version: Int
    public let slope: Double, intercept: Double, calMin: Double, calMax: Double
    let values: [Double]
    let path: String

    public init(path: String) throws {
        do { _ = try BoundedFile.size(path, what: "NIfTI file") } catch let e as FileError {
            throw ImagingError.unreadable(path: path, reason: e.problem)
        }
        var v = medpfl_volume()
        var message = [CChar](repeating: 0, count: 256)
        let rc = message.withUnsafeMutableBufferPointer { m in
            medpfl_nifti_read(path, Int64(BoundedFile.Limit.dicom), &v, m.baseAddress, m.count)
        }
        defer { free(v.values) }
        guard rc == 0, let p = v.values else {
            let reason = cText(message)
            throw ImagingError.corruptImage(path: path, format: "NIfTI", reason: reason.isEmpty ? "nifticlib error" : reason)
        }
        nx = Int(v.nx); ny = Int(v.ny); nz = Int(v.nz); volumes = Int(v.volumes)
        version = Int(v.nifti_version)
        slope = v.slope; intercept = v.intercept; calMin = v.cal_min; calMax = v.cal_max
        values = Array(UnsafeBufferPointer(start: p, count: nx * ny * nz))
        self.path = path
    }

    /// The number of slices along `axis`.
    public func slices(along axis: SliceAxis) -> Int {
        switch axis { case .x: return nx; case .y: return ny; case .z: return nz }
    }

    /// Slice `k` along `axis`, windowed to [0, 1] (one gray plane).
    public func slice(_ k: Int, along axis: SliceAxis, window: WindowChoice) throws -> DecodedFrame {
        let n = slices(along: axis)
        guard k >= 0 && k < n else { throw ImagingError.noSuchFrame(path: path, frame: k, frames: n) }
        let (w, h): (Int, Int) = axis == .z ? (nx, ny) : axis == .y ? (nx, nz) : (ny, nz)
        let scale = slope.isFinite && slope != 0
        var x = [Double](repeating: 0, count: w * h)
        for r in 0..<h {
            for c in 0..<w {
                let (i, j, kk): (Int, Int, Int) = axis == .z ? (c, r, k) : axis == .y ? (c, k, r) : (k, c, r)
                let raw = values[i + nx * (j + ny * kk)]
                x[r * w + c] = scale ? raw * slope + (intercept.isFinite ? intercept : 0) : raw
            }
        }
        let voi: VOITransform
        let used: DICOMImage.WindowUsed
        if let set = VOITransform.chosen(window, values: x) {
            (voi, used) = set
        } else if calMax > calMin {
            voi = .range(low: calMin, high: calMax)
            used = DICOMImage.WindowUsed(kind: "cal", low: calMin, high: calMax)
        } else {
            let lo = x.min() ?? 0, hi = x.max() ?? 0
            voi = .range(low: lo, high: hi)
            used = DICOMImage.WindowUsed(kind: "range", low: lo, high: hi)
        }
        return DecodedFrame(width: w, height: h, channels: 1, planes: x.map { Float(voi.apply($0)) }, window: used)
    }
}
