// C interface over GDCM: see include/medpfl_gdcm.h.
#include "medpfl_gdcm.h"

#include <gdcmImageReader.h>
#include <gdcmImage.h>
#include <gdcmReader.h>
#include <gdcmFileMetaInformation.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>

#include <csetjmp>
#include <csignal>
#include <cstring>
#include <mutex>
#include <fstream>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <vector>

struct medpfl_dicom {
    gdcm::ImageReader reader;
    std::vector<char> pixels;
    medpfl_dicom_info info;
};

namespace {

void copy_text(char *dst, size_t n, const std::string &s) {
    if (!dst || n == 0) return;
    size_t k = s.size() < n - 1 ? s.size() : n - 1;
    std::memcpy(dst, s.data(), k);
    dst[k] = 0;
}

// GDCM's diagnostics would print tags and values to stderr, and an audit tool must not echo patient attributes:
// they go to a string the bridge reads (one warning matters: "Incomplete Pixel Data", a truncated file that GDCM
// would otherwise pad) and then drops. GDCM's trace streams are process-wide, so one file is read at a time.
std::mutex gdcm_lock;
std::ostringstream &diagnostics() {
    static std::ostringstream sink;
    return sink;
}
void capture() {
    diagnostics().str("");
    diagnostics().clear();
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetWarningStream(diagnostics());
    gdcm::Trace::SetErrorStream(diagnostics());
    gdcm::Trace::SetWarning(true);
    gdcm::Trace::SetError(true);
}
bool truncated_pixels() { return diagnostics().str().find("Incomplete Pixel Data") != std::string::npos; }

std::string trimmed(const gdcm::DataElement &de) {
    const gdcm::ByteValue *bv = de.GetByteValue();
    if (!bv || !bv->GetPointer()) return std::string();
    std::string s(bv->GetPointer(), bv->GetLength());
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
    return s;
}

/// The file meta's transfer syntax UID, read without parsing the data set ("" when there is none).
std::string meta_syntax(const char *path) {
    gdcm::Reader meta;
    meta.SetFileName(path);
    std::set<gdcm::Tag> none;
    if (!meta.ReadUpToTag(gdcm::Tag(0x0008, 0x0000), none)) {
        // ReadUpToTag reports failure on files without a data set beyond the header too; use what was read.
    }
    const gdcm::FileMetaInformation &h = meta.GetFile().GetHeader();
    const gdcm::Tag ts(0x0002, 0x0010);
    if (!h.FindDataElement(ts)) return std::string();
    return trimmed(h.GetDataElement(ts));
}

const gdcm::DataSet *walk(const medpfl_dicom *d, const uint32_t *tags, const uint32_t *items, int depth,
                          const gdcm::DataElement **last) {
    if (depth < 1) return nullptr;
    const gdcm::DataSet *ds = &d->reader.GetFile().GetDataSet();
    for (int i = 0; i < depth; ++i) {
        gdcm::Tag t(uint16_t(tags[i] >> 16), uint16_t(tags[i] & 0xffff));
        if (!ds->FindDataElement(t)) return nullptr;
        const gdcm::DataElement &de = ds->GetDataElement(t);
        if (i == depth - 1) { *last = &de; return ds; }
        gdcm::SmartPointer<gdcm::SequenceOfItems> sq = de.GetValueAsSQ();
        if (!sq || items[i] < 1 || items[i] > sq->GetNumberOfItems()) return nullptr;
        ds = &sq->GetItem(items[i]).GetNestedDataSet();
    }
    return nullptr;
}

// Debian builds GDCM with its assert()s on; a malformed file can reach one, and abort() would end the whole
// audit. While GDCM runs on this thread, SIGABRT jumps back here instead, and the file is reported corrupt.
// (The handler is process-wide; a thread that is not inside `guarded` gets the default action.)
thread_local sigjmp_buf *guard_point = nullptr;

void on_abort(int sig) {
    if (guard_point) siglongjmp(*guard_point, 1);
    signal(sig, SIG_DFL);
    raise(sig);
}

template <typename F> bool guarded(F body) {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa;
        std::memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_abort;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_NODEFER;
        sigaction(SIGABRT, &sa, nullptr);
    });
    sigjmp_buf here;
    sigjmp_buf *previous = guard_point;
    if (sigsetjmp(here, 1) != 0) { guard_point = previous; return false; }
    guard_point = &here;
    try { body(); } catch (...) { guard_point = previous; return false; }
    guard_point = previous;
    return true;
}

} // namespace

extern "C" int medpfl_dicom_open(const char *path, medpfl_dicom **out, char *detail, size_t detail_length) {
    std::lock_guard<std::mutex> hold(gdcm_lock);
    capture();
    *out = nullptr;
    copy_text(detail, detail_length, "");
    {
        std::ifstream probe(path, std::ios::binary);
        if (!probe.good()) return MEDPFL_DICOM_UNREADABLE;
    }
    std::unique_ptr<medpfl_dicom> d(new (std::nothrow) medpfl_dicom());
    if (!d) return MEDPFL_DICOM_UNREADABLE;
    // First parse the data set alone: it tells a file without pixel data, or not DICOM at all, from one whose
    // pixels fail to decode, before GDCM's image layer looks at it (that layer asserts on some odd files).
    {
        gdcm::Reader plain;
        plain.SetFileName(path);
        bool parsed = false;
        if (!guarded([&] { parsed = plain.Read(); })) return MEDPFL_DICOM_CORRUPT;
        if (!parsed) {
            std::string uid;
            guarded([&] { uid = meta_syntax(path); });
            if (!uid.empty() && gdcm::TransferSyntax::GetTSType(uid.c_str()) == gdcm::TransferSyntax::TS_END) {
                copy_text(detail, detail_length, uid);
                return MEDPFL_DICOM_UNSUPPORTED_SYNTAX;
            }
            return uid.empty() ? MEDPFL_DICOM_NOT_DICOM : MEDPFL_DICOM_CORRUPT;
        }
        if (truncated_pixels()) {
            copy_text(detail, detail_length, "the file ends inside its pixel data (truncated)");
            return MEDPFL_DICOM_CORRUPT;
        }
        const gdcm::DataSet &ds = plain.GetFile().GetDataSet();
        if (!ds.FindDataElement(gdcm::Tag(0x7fe0, 0x0010)) && !ds.FindDataElement(gdcm::Tag(0x7fe0, 0x0008))
            && !ds.FindDataElement(gdcm::Tag(0x7fe0, 0x0009)))
            return MEDPFL_DICOM_NO_PIXEL_DATA;
        const gdcm::TransferSyntax &ts = plain.GetFile().GetHeader().GetDataSetTransferSyntax();
        if (!ts.IsValid()) {
            std::string uid;
            guarded([&] { uid = meta_syntax(path); });
            copy_text(detail, detail_length, uid);
            return MEDPFL_DICOM_UNSUPPORTED_SYNTAX;
        }
    }
    d->reader.SetFileName(path);
    bool ok = false;
    if (!guarded([&] { ok = d->reader.Read(); })) {
        d.release(); // its state is unknown after an abort inside GDCM: leak it rather than destroy it
        copy_text(detail, detail_length, "the toolkit stopped on an inconsistent data set");
        return MEDPFL_DICOM_CORRUPT;
    }
    if (!ok) {
        copy_text(detail, detail_length, "the image attributes or pixel data could not be read");
        return MEDPFL_DICOM_CORRUPT;
    }
    const gdcm::Image &img = d->reader.GetImage();
    const gdcm::PixelFormat &pf = img.GetPixelFormat();
    medpfl_dicom_info &info = d->info;
    std::memset(&info, 0, sizeof info);
    info.columns = img.GetDimension(0);
    info.rows = img.GetDimension(1);
    info.frames = img.GetNumberOfDimensions() > 2 ? img.GetDimension(2) : 1;
    info.samples_per_pixel = pf.GetSamplesPerPixel();
    info.bits_allocated = pf.GetBitsAllocated();
    info.bits_stored = pf.GetBitsStored();
    info.high_bit = pf.GetHighBit();
    info.pixel_representation = pf.GetPixelRepresentation();
    info.planar_configuration = img.GetPlanarConfiguration();
    const gdcm::TransferSyntax &ts = d->reader.GetFile().GetHeader().GetDataSetTransferSyntax();
    info.big_endian = ts.GetSwapCode() == gdcm::SwapCode::BigEndian ? 1 : 0;
    const char *pi = gdcm::PhotometricInterpretation::GetPIString(img.GetPhotometricInterpretation());
    copy_text(info.photometric, sizeof info.photometric, pi ? pi : "");
    const gdcm::DataSet &ds = d->reader.GetFile().GetDataSet();
    const gdcm::Tag piTag(0x0028, 0x0004);
    copy_text(info.stored_photometric, sizeof info.stored_photometric,
              ds.FindDataElement(piTag) ? trimmed(ds.GetDataElement(piTag)) : std::string());
    {
        const gdcm::FileMetaInformation &h = d->reader.GetFile().GetHeader();
        const gdcm::Tag tsTag(0x0002, 0x0010);
        std::string uid = h.FindDataElement(tsTag) ? trimmed(h.GetDataElement(tsTag)) : std::string();
        if (uid.empty()) { const char *s = ts.GetString(); uid = s ? s : ""; }
        copy_text(info.transfer_syntax, sizeof info.transfer_syntax, uid);
    }
    if (info.columns == 0 || info.rows == 0 || info.frames == 0 || info.samples_per_pixel == 0
        || info.bits_allocated == 0) {
        copy_text(detail, detail_length, "the image has no rows, columns or samples");
        return MEDPFL_DICOM_CORRUPT;
    }
    unsigned long length = img.GetBufferLength();
    // A header can claim any size (65535 x 65535 x 2^31 frames in a few bytes of JPEG): refuse before allocating.
    const unsigned long limit = 2UL << 30;
    if (length > limit) {
        copy_text(detail, detail_length, "its rows, columns and frames would decode to more than the 2 GiB medpfl decodes for one file");
        return MEDPFL_DICOM_CORRUPT;
    }
    try { d->pixels.resize(length); } catch (...) {
        copy_text(detail, detail_length, "the pixel data is too large for memory");
        return MEDPFL_DICOM_CORRUPT;
    }
    bool decoded = false;
    if (!guarded([&] { decoded = length > 0 && img.GetBuffer(d->pixels.data()); })) {
        d.release();
        copy_text(detail, detail_length, "the toolkit stopped while decoding the pixel data");
        return MEDPFL_DICOM_CORRUPT;
    }
    if (!decoded) {
        copy_text(detail, detail_length, "the pixel data could not be decoded (truncated or damaged)");
        return MEDPFL_DICOM_CORRUPT;
    }
    // A JPEG codec may have converted the colour space while decoding: report what the buffer holds now.
    const char *after = gdcm::PhotometricInterpretation::GetPIString(img.GetPhotometricInterpretation());
    copy_text(info.photometric, sizeof info.photometric, after ? after : "");
    info.planar_configuration = img.GetPlanarConfiguration();
    info.buffer_length = length;
    *out = d.release();
    return MEDPFL_DICOM_OK;
}

extern "C" void medpfl_dicom_close(medpfl_dicom *dicom) { delete dicom; }

extern "C" void medpfl_dicom_get_info(const medpfl_dicom *dicom, medpfl_dicom_info *info) { *info = dicom->info; }

extern "C" const void *medpfl_dicom_pixels(const medpfl_dicom *dicom) { return dicom->pixels.data(); }

extern "C" int64_t medpfl_dicom_value(const medpfl_dicom *dicom, const uint32_t *tags, const uint32_t *items,
                                      int depth, const void **value) {
    *value = nullptr;
    const gdcm::DataElement *de = nullptr;
    try {
        if (!walk(dicom, tags, items, depth, &de) || !de) return -1;
        const gdcm::ByteValue *bv = de->GetByteValue();
        if (!bv) return 0;
        *value = bv->GetPointer();
        return int64_t(bv->GetLength());
    } catch (...) { return -1; }
}

extern "C" int64_t medpfl_dicom_items(const medpfl_dicom *dicom, const uint32_t *tags, const uint32_t *items,
                                      int depth) {
    const gdcm::DataElement *de = nullptr;
    try {
        if (!walk(dicom, tags, items, depth, &de) || !de) return -1;
        gdcm::SmartPointer<gdcm::SequenceOfItems> sq = de->GetValueAsSQ();
        if (!sq) return -1;
        return int64_t(sq->GetNumberOfItems());
    } catch (...) { return -1; }
}
