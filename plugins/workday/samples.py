"""Trigger sample: one row of a hires report as RaaS answers it (column names are the report
author's; these follow common delivered field aliases), with the ``worker_id`` ATOM adds."""
from __future__ import annotations

NEW_HIRE = {
    "Employee_ID": "21001",
    "Worker": "Logan McNeil",
    "Legal_Name_-_First_Name": "Logan",
    "Legal_Name_-_Last_Name": "McNeil",
    "Hire_Date": "2026-03-02",
    "Business_Title": "Vice President, Human Resources",
    "Supervisory_Organization": "Human Resources",
    "Location": "San Francisco",
    "Primary_Work_Email": "lmcneil@workday.net",
    "worker_id": "21001",
}
