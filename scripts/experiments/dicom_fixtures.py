#!/usr/bin/env python3
"""Makes the synthetic DICOM fixtures the tests refuse or scan for identifiers (run once; outputs committed).

    pip install pydicom==3.0.2 numpy
    python3 scripts/experiments/dicom_fixtures.py

- Tests/ImagingTests/Fixtures/dicom/unknown_syntax_htj2k.dcm: MR_small.dcm re-labelled as High-Throughput
  JPEG 2000 (1.2.840.10008.1.2.4.201), a syntax GDCM 3.0.21 has no codec for, its pixels encapsulated as one
  fragment (not a valid HTJ2K stream: the file must be refused by its syntax before any decoding).
- not_dicom.dcm (text), MR_small_cut.dcm (the first half of MR_small.dcm).
- Tests/CLITests/Fixtures/dicom-identified/: three real images (MR_small, CT_small, emri_small frames) whose
  patient, study and institution attributes are set to distinctive fake values (FAKE_VALUES below), with a
  labels.csv; the CLI test greps every output for each value.
"""
import os
import pydicom
from pydicom.encaps import encapsulate

HERE = os.path.dirname(__file__)
FIX = os.path.join(HERE, "..", "..", "Tests", "ImagingTests", "Fixtures", "dicom")
IDENT = os.path.join(HERE, "..", "..", "Tests", "CLITests", "Fixtures", "dicom-identified")

FAKE_VALUES = {
    "PatientName": "QUIXOTEZZ^ALONSO",
    "PatientID": "PIDX8675309",
    "PatientBirthDate": "19230517",
    "AccessionNumber": "ACCX424242",
    "InstitutionName": "ZZ Lamancha General",
    "ReferringPhysicianName": "SANCHOZZ^PANZA",
    "StudyDate": "20011231",
    "SeriesDate": "20011231",
    "StudyID": "STUDYQ77",
}
UIDS = {"StudyInstanceUID": "1.2.826.0.1.3680043.9.7391.424242.1",
        "SeriesInstanceUID": "1.2.826.0.1.3680043.9.7391.424242.2",
        "SOPInstanceUID": "1.2.826.0.1.3680043.9.7391.424242.{n}"}


def main():
    ds = pydicom.dcmread(os.path.join(FIX, "MR_small.dcm"))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.201"
    ds.PixelData = encapsulate([bytes(ds.PixelData)])
    ds["PixelData"].VR = "OB"
    ds.save_as(os.path.join(FIX, "unknown_syntax_htj2k.dcm"), enforce_file_format=True)
    with open(os.path.join(FIX, "not_dicom.dcm"), "wb") as f:
        f.write(b"This is a text file named like a DICOM file.\n" * 20)
    raw = open(os.path.join(FIX, "MR_small.dcm"), "rb").read()
    with open(os.path.join(FIX, "MR_small_cut.dcm"), "wb") as f:
        f.write(raw[: len(raw) // 2])

    os.makedirs(os.path.join(IDENT, "scans"), exist_ok=True)
    rows = []
    for n, (src, label) in enumerate([("MR_small.dcm", "mri"), ("CT_small.dcm", "ct"), ("emri_small.dcm", "mri")], 1):
        d = pydicom.dcmread(os.path.join(FIX, src))
        for k, v in FAKE_VALUES.items():
            setattr(d, k, v)
        for k, v in UIDS.items():
            setattr(d, k, v.format(n=n))
        d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
        name = f"scans/record-{n:02d}.dcm"
        d.save_as(os.path.join(IDENT, name), enforce_file_format=True)
        rows.append(f"{name},{label}")
    with open(os.path.join(IDENT, "labels.csv"), "w") as f:
        f.write("path,label\n" + "\n".join(rows) + "\n")
    with open(os.path.join(IDENT, "identifiers.txt"), "w") as f:
        for v in list(FAKE_VALUES.values()) + [u.format(n=n) for u in UIDS.values() for n in (1, 2, 3)]:
            f.write(v + "\n")


if __name__ == "__main__":
    main()
