"""AWS (S3, SNS, SQS, STS), signed with botocore's SigV4 on ATOM's own requests.

Vendor references: https://docs.aws.amazon.com/AmazonS3/latest/API/ ,
https://docs.aws.amazon.com/sns/latest/api/ ,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/ ,
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html ,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html ,
https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html ;
error codes after botocore's ``botocore/retries/standard.py``.
"""
