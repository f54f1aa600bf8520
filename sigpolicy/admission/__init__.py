"""Admission: from an AdmissionReview to the answer, with every image decided by the policy."""
