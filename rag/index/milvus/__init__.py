"""The index store on Milvus (`pymilvus.MilvusClient`): Milvus Lite files and Milvus servers.

Import-light: `pymilvus` is loaded only when a Milvus store is opened (the ``[milvus]`` extra).
"""
