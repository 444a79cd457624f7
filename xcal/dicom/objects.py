"""DICOM objects xcal makes and reads: the QC test object sent by `xcal dicom check`, DX images (For
Processing / For Presentation) with the IEC 62494-1 exposure index tags, and DX images turned into arrays.

Built with pydicom; the caller has checked the `dicom` extra (xcal.dicom.require).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
DX_FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.1.1"
"""SOP class UIDs of PS3.4 Annex B (Storage): Secondary Capture Image, Digital X-Ray Image for Presentation
and for Processing."""
SOP_CLASS_NAMES = {SECONDARY_CAPTURE: "Secondary Capture Image Storage",
                   DX_FOR_PRESENTATION: "Digital X-Ray Image Storage - For Presentation",
                   DX_FOR_PROCESSING: "Digital X-Ray Image Storage - For Processing"}
QC_PATIENT_ID = "XCAL-QC"
"""Patient ID of every object xcal makes, so a PACS administrator can find and delete QC objects."""


def base_dataset(sop_class: str, modality: str, station_name: str, device_serial: str) -> Any:
    """Patient, study, series, equipment and SOP common modules with fresh UIDs and the current time."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import (
        PYDICOM_IMPLEMENTATION_UID,
        UID,
        ExplicitVRLittleEndian,
        generate_uid,
    )

    now = dt.datetime.now()
    ds = Dataset()
    ds.SOPClassUID = UID(sop_class)
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "XCAL^QC TEST OBJECT"
    ds.PatientID = QC_PATIENT_ID
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = now.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = now.strftime("%H%M%S")
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = "XCALQC"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Modality = modality
    ds.Manufacturer = "xcal"
    ds.StationName = station_name
    ds.DeviceSerialNumber = device_serial
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds


def _pixels(ds: Any, pixels: np.ndarray, bits_stored: int) -> None:
    """Unsigned 16-bit MONOCHROME2 pixel data, clipped to the stored bit depth."""
    top = (1 << bits_stored) - 1
    data = np.clip(np.rint(pixels), 0, top).astype("<u2")
    ds.Rows, ds.Columns = data.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = data.tobytes()


def qc_test_object(station_name: str = "XCAL", size: int = 64) -> Any:
    """A small Secondary Capture image (a grey ramp with a bright square) that a PACS can store and a person
    can recognise; marked by its patient ID as a QC object."""
    ds = base_dataset(SECONDARY_CAPTURE, "OT", station_name, "")
    ds.ConversionType = "WSD"
    ds.ImageComments = "xcal connectivity check: QC test object, not a patient image"
    ramp = np.tile(np.linspace(0, 4095, size), (size, 1))
    quarter = size // 4
    ramp[quarter:3 * quarter, quarter:3 * quarter] = 4095
    _pixels(ds, ramp, 12)
    return ds


def deviation_index(exposure_index: float, target: float) -> float:
    """DI = 10·log10(EI/EI_T) (IEC 62494-1; qc-reference.md §7b)."""
    return 10.0 * math.log10(exposure_index / target)


def dx_image(pixels: np.ndarray, *, for_processing: bool, exposure_index: float | None, target_exposure_index: float,
             kvp: float, exposure_uas: float, pixel_spacing_mm: float, station_name: str, device_serial: str,
             bits_stored: int = 14, comment: str = "") -> Any:
    """A DX image of `pixels` with the exposure index (0018,1411), target EI (0018,1412) and deviation index
    (0018,1413) of IEC 62494-1 (left out when exposure_index is None, as for a dark image); For Processing or
    For Presentation SOP class and presentation intent."""
    sop = DX_FOR_PROCESSING if for_processing else DX_FOR_PRESENTATION
    ds = base_dataset(sop, "DX", station_name, device_serial)
    ds.PresentationIntentType = "FOR PROCESSING" if for_processing else "FOR PRESENTATION"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.BodyPartExamined = ""
    ds.ViewPosition = ""
    ds.PatientOrientation = ""
    ds.ImageLaterality = "U"
    ds.PixelIntensityRelationship = "LIN"
    ds.PixelIntensityRelationshipSign = 1
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "US"
    ds.LossyImageCompression = "00"
    ds.BurnedInAnnotation = "NO"
    ds.DetectorType = "SCINTILLATOR"
    ds.ImagerPixelSpacing = [pixel_spacing_mm, pixel_spacing_mm]
    ds.KVP = kvp
    ds.ExposureInuAs = round(exposure_uas)
    if exposure_index is not None:
        ds.ExposureIndex = round(float(exposure_index), 4)
        ds.TargetExposureIndex = round(float(target_exposure_index), 4)
        ds.DeviationIndex = round(deviation_index(exposure_index, target_exposure_index), 4)
    if comment:
        ds.ImageComments = comment
    _pixels(ds, pixels, bits_stored)
    return ds


def save(ds: Any, path: str | Path) -> Path:
    """Write `ds` as a DICOM Part 10 file (preamble, file meta) and return the path."""
    path = Path(path)
    ds.save_as(path, enforce_file_format=True)
    return path


@dataclass(frozen=True)
class DetectorImage:
    """A DX image as numbers: the pixel array (rescaled, float) and the exposure index tags, None when absent."""

    pixels: np.ndarray
    sop_class: str
    for_processing: bool
    exposure_index: float | None
    target_exposure_index: float | None
    deviation_index: float | None
    station_name: str
    device_serial: str
    source: str


def dataset_of(source: str | Path | Any, fix: str) -> tuple[Any, str]:
    """A pydicom Dataset from a file path (read) or a Dataset (as is), and the name errors give it; ConfigError
    with `fix` for a file that is not DICOM."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    if not isinstance(source, (str, Path)):
        return source, "the dataset"
    try:
        return pydicom.dcmread(str(source)), str(source)
    except (InvalidDicomError, OSError) as exc:
        raise ConfigError(f"{source} is not a readable DICOM file: {exc}", fix=fix) from None


def read_image(source: str | Path | Any) -> DetectorImage:
    """Read a DX (or any single-frame greyscale) image from a file or a dataset into a DetectorImage.

    ConfigError naming the file for a file that is not DICOM or has no pixel data.
    """
    ds, name = dataset_of(source, "give a DICOM image file (Part 10, with its 128-byte preamble and DICM)")
    if "PixelData" not in ds:
        raise ConfigError(f"{name} holds no pixel data (SOP class {ds.get('SOPClassUID', '?')})",
                          fix="give an image object, not a report or a structured report")
    pixels = ds.pixel_array.astype(float) * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))

    def number(keyword: str) -> float | None:
        value = ds.get(keyword)
        return None if value is None or value == "" else float(value)

    sop = str(ds.get("SOPClassUID", ""))
    return DetectorImage(pixels, sop, sop == DX_FOR_PROCESSING or ds.get("PresentationIntentType") == "FOR PROCESSING",
                         number("ExposureIndex"), number("TargetExposureIndex"), number("DeviationIndex"),
                         str(ds.get("StationName", "")), str(ds.get("DeviceSerialNumber", "")), name)
